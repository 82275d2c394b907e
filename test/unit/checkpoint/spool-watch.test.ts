import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spoolPaths } from '../../../lib/checkpoint/layout';
import { FsSpool } from '../../../lib/checkpoint/spool';

describe('FsSpool.watchHandOffs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shardline-spool-watch-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('calls back when save() touches .handoff', async () => {
    const spool = new FsSpool(dir);
    const seen: string[] = [];
    let signalled!: () => void;
    const handOff = new Promise<void>((resolve) => (signalled = resolve));
    const stop = spool.watchHandOffs(() => {
      seen.push('hand-off');
      signalled();
    });
    await writeFile(join(dir, spoolPaths.agentFile), '{}');
    await writeFile(join(dir, spoolPaths.handOffFile), '');
    await utimes(join(dir, spoolPaths.handOffFile), new Date(), new Date());
    await handOff;
    stop();
    expect(seen.length).toBeGreaterThanOrEqual(1);
  });

  it('reports a spool that cannot be watched, and returns a no-op unsubscribe', () => {
    const errors: Error[] = [];
    const stop = new FsSpool(join(dir, 'missing')).watchHandOffs(
      () => undefined,
      (err) => errors.push(err),
    );
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOENT']);
    expect(stop).not.toThrow();
  });
});
