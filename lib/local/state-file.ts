import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LocalState } from './environment';

/** Reads `<stateDir>/local.json`, written by `shardline local up`. */
export async function readLocalState(stateDir = '.shardline'): Promise<LocalState> {
  const path = join(resolve(stateDir), 'local.json');
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LocalState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`no local environment found (${path} is missing): start one with 'npx shardline local up'`);
    }
    throw err;
  }
}
