import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * The layering rules (.dependency-cruiser.cjs), run as `npm run lint` runs them: through
 * scripts/layering.mjs, which calls dependency-cruiser's JS API `cruise`. That package is ESM
 * only, which Jest's CommonJS runtime cannot load, so one child process cruises both trees.
 */
const ROOT = join(__dirname, '..', '..');
/** A tree of its own with deliberate violations; the real run excludes test/fixtures/. */
const FIXTURE = join(ROOT, 'test', 'fixtures', 'layering');

interface Violation {
  rule: string;
  from: string;
  to: string;
  cycle?: string[];
}

const SCRIPT = `
import { cruiseTree, violationsOf } from './scripts/layering.mjs';
const tree = violationsOf((await cruiseTree()).output);
const fixture = violationsOf((await cruiseTree({ baseDir: ${JSON.stringify(FIXTURE)} })).output);
process.stdout.write(JSON.stringify({ tree, fixture }));
`;

function cruiseBoth(): Promise<{ tree: Violation[]; fixture: Violation[] }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT }, (err, stdout, stderr) => {
      if (err) reject(new Error(`cruising failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe('layering rules', () => {
  let result: { tree: Violation[]; fixture: Violation[] };

  beforeAll(async () => {
    result = await cruiseBoth();
  });

  it('finds no violation in the source tree', () => {
    expect(result.tree).toEqual([]);
  });

  it('reports lib-imports-no-entry-folder when lib/ imports the CLI', () => {
    expect(result.fixture).toContainEqual({ rule: 'lib-imports-no-entry-folder', from: 'lib/bad.ts', to: 'cli/x.ts' });
  });

  it('reports no-folder-cycle when two lib/ folders import each other through different files', () => {
    const cycles = result.fixture.filter((v) => v.rule === 'no-folder-cycle');

    expect(cycles.map((v) => [v.from, v.to]).sort()).toEqual([
      ['lib/a', 'lib/b'],
      ['lib/b', 'lib/a'],
    ]);
    expect(result.fixture.some((v) => v.rule === 'no-circular')).toBe(false);
  });
});
