import { resolve } from 'node:path';

/**
 * Node arguments that run the `shardline` CLI from its TypeScript sources through tsx, so tests
 * need no build (`bin/shardline.cjs` runs the same `runCli` compiled under dist/).
 */
export const SHARDLINE_FROM_SOURCES: readonly string[] = ['--require', require.resolve('tsx/cjs'), resolve(__dirname, '..', '..', 'cli', 'main.ts')];
