import { readLocalState } from '../lib/aws/local-state';
import { collectSnapshot, type PipelineSnapshot, type SnapshotOptions } from '../lib/observability/snapshot';
import { SnapshotPoller } from '../lib/observability/snapshot-poller';
import { renderWatchView } from '../lib/observability/watch-view';
import { resolveTarget, type TargetOptions } from '../lib/aws/target';

/** R and the heartbeat timeout of the local environment's config; AWS defaults for a stack. */
export async function snapshotOptionsFor(opts: TargetOptions): Promise<SnapshotOptions> {
  if (opts.stack) return {};
  const state = await readLocalState(opts.stateDir).catch(() => undefined);
  if (!state?.config) return {};
  return { replicationFactor: state.config.replicationFactor, heartbeatTimeoutMs: state.config.heartbeatTimeoutSeconds * 1000 };
}

/** A terminal to draw on (process.stdout, or a stream in tests). */
export interface WatchOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export interface WatchDeps {
  out?: WatchOutput;
  /** Stops the view (Ctrl-C does too). */
  signal?: AbortSignal;
  /** Replaces the AWS collection (tests). */
  collect?: () => Promise<PipelineSnapshot>;
}

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

/**
 * `shardline status --watch`: redraws the live view every interval until Ctrl-C. On a terminal it
 * draws on the alternate screen and, on exit, leaves the last frame on the normal one; on a pipe
 * it prints one plain frame per refresh.
 */
export async function watchStatus(opts: TargetOptions & { interval?: number }, deps: WatchDeps = {}): Promise<void> {
  const out = deps.out ?? process.stdout;
  const intervalMs = opts.interval ?? 1000;
  let collect = deps.collect;
  if (!collect) {
    const target = await resolveTarget(opts);
    const snapshotOpts = await snapshotOptionsFor(opts);
    collect = () => collectSnapshot(target, snapshotOpts);
  }
  const tty = Boolean(out.isTTY);
  let frame = '';
  let last: PipelineSnapshot | undefined;
  let staleError: string | undefined;
  const draw = () => {
    if (!last) return;
    frame = fitFrame(last, poller, { width: out.columns ?? 100, rows: tty ? out.rows : undefined, color: tty, intervalMs, staleError });
    out.write(tty ? `\x1b[H${frame.split('\n').join('\x1b[K\n')}\x1b[K\x1b[J` : `${frame}\n\n`);
  };
  const poller: SnapshotPoller = new SnapshotPoller(collect, {
    intervalMs,
    onSnapshot: (s) => {
      last = s;
      staleError = undefined;
      draw();
    },
    onError: (err) => {
      staleError = err.message;
      if (last) draw();
      else out.write(`shardline: ${err.message} (retrying)\n`);
    },
  });

  if (tty) out.write(ENTER);
  out.on?.('resize', draw);
  poller.start();
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    deps.signal?.addEventListener('abort', stop, { once: true });
    if (deps.signal?.aborted) stop();
  });
  await poller.stop();
  out.off?.('resize', draw);
  if (tty) out.write(LEAVE + (frame ? `${frame}\n` : ''));
}

/** Renders a frame that fits the terminal's height by showing fewer object rows. */
function fitFrame(snapshot: PipelineSnapshot, poller: SnapshotPoller, o: { width: number; rows?: number; color: boolean; intervalMs: number; staleError?: string }): string {
  const history = poller.tracker.points(snapshot.collectedAt - 120_000);
  const render = (maxObjects: number) => renderWatchView(snapshot, history, { width: o.width, color: o.color, intervalMs: o.intervalMs, staleError: o.staleError, maxObjects });
  const full = render(50);
  if (!o.rows) return full;
  const overflow = full.split('\n').length - (o.rows - 1);
  return overflow > 0 ? render(Math.max(3, Math.min(50, snapshot.objects.length) - overflow)) : full;
}
