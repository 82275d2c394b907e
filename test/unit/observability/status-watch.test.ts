import { parseInterval } from '../../../lib/units';
import { watchStatus, type WatchOutput } from '../../../cli/status-watch';
import type { PipelineSnapshot } from '../../../lib/observability/snapshot';
import { snapshotFixture } from '../../support/snapshot-fixture';

/** An output that records writes and aborts the view after `frames` frames. */
function recorder(tty: boolean, frames: number, controller: AbortController): WatchOutput & { text: () => string } {
  const chunks: string[] = [];
  return {
    isTTY: tty,
    columns: 100,
    rows: 60,
    write: (chunk: string) => {
      chunks.push(chunk);
      if (chunks.filter((c) => c.includes('THROUGHPUT')).length >= frames) controller.abort();
      return true;
    },
    text: () => chunks.join(''),
  };
}

const collector = () => {
  let n = 0;
  return async (): Promise<PipelineSnapshot> => {
    n++;
    const base = snapshotFixture();
    return { ...base, collectedAt: base.collectedAt + n * 1000, totals: { ...base.totals, bytesProcessed: n * 3_000_000 } };
  };
};

describe('watchStatus', () => {
  it('prints one plain frame per refresh on a pipe until stopped', async () => {
    const controller = new AbortController();
    const out = recorder(false, 3, controller);
    await watchStatus({ interval: 200 }, { out, signal: controller.signal, collect: collector() });
    const text = out.text();
    expect(text.match(/THROUGHPUT/g)).toHaveLength(3);
    expect(text).not.toContain('\x1b[');
    expect(text).toContain('3.0 MB/s'); // 3 MB more per 1 s of collectedAt
  });

  it('draws on the alternate screen of a terminal and leaves the last frame on exit', async () => {
    const controller = new AbortController();
    const out = recorder(true, 2, controller);
    await watchStatus({ interval: 200 }, { out, signal: controller.signal, collect: collector() });
    const text = out.text();
    expect(text.startsWith('\x1b[?1049h\x1b[?25l')).toBe(true);
    expect(text.split('\x1b[H').length - 1).toBe(2); // two redraws from the top
    const exit = text.lastIndexOf('\x1b[?25h\x1b[?1049l');
    expect(exit).toBeGreaterThan(0);
    expect(text.slice(exit)).toContain('THROUGHPUT');
  });

  it('keeps the last frame and shows the error when a refresh fails', async () => {
    const controller = new AbortController();
    let calls = 0;
    const good = collector();
    const chunks: string[] = [];
    const out: WatchOutput = {
      isTTY: false,
      write: (c: string) => {
        chunks.push(c);
        if (c.includes('last refresh failed')) controller.abort();
        return true;
      },
    };
    await watchStatus({ interval: 200 }, { out, signal: controller.signal, collect: () => (++calls === 2 ? Promise.reject(new Error('moto is gone')) : good()) });
    expect(chunks.join('')).toContain('last refresh failed: moto is gone');
  });
});

describe('parseInterval', () => {
  it('reads seconds, milliseconds and bare seconds', () => {
    expect(parseInterval('1s')).toBe(1000);
    expect(parseInterval('500ms')).toBe(500);
    expect(parseInterval('0.5s')).toBe(500);
    expect(parseInterval('2')).toBe(2000);
  });

  it('refuses nonsense and intervals under 200 ms', () => {
    expect(() => parseInterval('fast')).toThrow(/duration/);
    expect(() => parseInterval('50ms')).toThrow(/at least 200ms/);
  });
});
