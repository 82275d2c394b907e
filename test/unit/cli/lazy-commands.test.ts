/**
 * The CLI loads a command's code only when that command runs: `--help` and parsing need only the
 * declarations. Checked in a fresh node process (from the sources, through tsx), by listing the
 * modules it loaded.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { COMMANDS } from '../../../cli/cli-config';

const ROOT = resolve(__dirname, '..', '..', '..');
const run = promisify(execFile);

/** Runs `shardline <argv>` from the sources and returns the project files and packages it loaded. */
async function loadedBy(...argv: string[]): Promise<{ files: string[]; packages: string[] }> {
  const script = `
    process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache))));
    require('./cli/main.ts').runCli(['node', 'shardline', ...${JSON.stringify(argv)}]);`;
  const { stderr } = await run(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, timeout: 60_000 });
  const loaded = JSON.parse(stderr.slice(stderr.lastIndexOf('LOADED ') + 'LOADED '.length)) as string[];
  const packages = new Set<string>();
  const files: string[] = [];
  for (const path of loaded) {
    const at = path.lastIndexOf('node_modules/');
    if (at < 0) files.push(relative(ROOT, path));
    else {
      const [first, second] = path.slice(at + 'node_modules/'.length).split('/');
      packages.add(first.startsWith('@') ? `${first}/${second}` : first);
    }
  }
  return { files, packages: [...packages] };
}

const HEAVY = ['@aws-sdk/client-s3', '@aws-sdk/client-dynamodb', '@aws-sdk/client-cloudformation', 'aws-cdk-lib', 'constructs', 'cli-progress', 'uplot'];

describe('shardline CLI start-up', () => {
  it('loads no command module, SDK client or CDK library for --help', async () => {
    const { files, packages } = await loadedBy('--help');

    expect(files.filter((f) => f.startsWith('cli/commands/'))).toEqual([]);
    expect(packages.filter((p) => p.startsWith('@aws-sdk/') || HEAVY.includes(p))).toEqual([]);
    expect(files).toContain('cli/cli-config.ts');
  });

  it("loads only the logs command's module when `logs` runs on local files", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shardline-lazy-logs-'));
    try {
      await mkdir(join(dir, 'agents', 'agent-1'), { recursive: true });
      await writeFile(join(dir, 'agents', 'agent-1', 'agent.log'), '{"level":"INFO","timestamp":"2026-11-02T10:00:00.000Z","message":"agent started"}\n');

      const { files, packages } = await loadedBy('logs', '--state-dir', dir);

      expect(files.filter((f) => f.startsWith('cli/commands/'))).toEqual(['cli/commands/logs.ts']);
      expect(packages.filter((p) => p.startsWith('@aws-sdk/') || HEAVY.includes(p))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('cli-config', () => {
  it('declares each group before its subcommands and every command once', () => {
    const names = COMMANDS.map((c) => c.name);

    for (const [i, name] of names.entries()) {
      const group = name.split(' ').slice(0, -1).join(' ');
      if (group) expect(names.slice(0, i)).toContain(group);
    }
    expect(new Set(names).size).toBe(names.length);
  });
});
