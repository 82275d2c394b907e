import type { PipelineConfig } from '../config/pipeline-config';
import { effectiveConfig, toConfigDocument, DEFAULT_NODE_GROUP } from './config-store';
import { INITIAL_CONTROL_STATE, type ControlState, type ControlTable } from './control-state';

/** What a component obeys right now. */
export interface ControlView {
  state: ControlState;
  config: PipelineConfig;
  configVersion: number;
  /** Set when the newest config version is invalid for this node group; the previous one stays. */
  configError?: string;
  /** The invalid version, so it is reported once rather than re-parsed every second. */
  rejectedVersion?: number;
}

/** How often agents and the chunker runner read the control state (actions take effect within 2 s). */
export const CONTROL_POLL_MS = 1000;

type Log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/**
 * Follows the control table: the desired state and the config version for one node group. Read
 * every `intervalMs` by agents and the local chunker runner, so an action or a new config takes
 * effect within about a second without a restart. A read that fails keeps the last view.
 */
export class ControlWatcher {
  private view: ControlView;
  private timer?: NodeJS.Timeout;
  private reading?: Promise<ControlView>;

  constructor(
    private readonly control: ControlTable,
    private readonly deployed: PipelineConfig,
    private readonly opts: { group?: string; log?: Log; onChange?: (view: ControlView, previous: ControlView) => void } = {},
  ) {
    this.view = { state: INITIAL_CONTROL_STATE, config: deployed, configVersion: 0 };
  }

  current(): ControlView {
    return this.view;
  }

  /** Reads the control items once (concurrent callers share the read). */
  refresh(): Promise<ControlView> {
    this.reading ??= this.readOnce().finally(() => (this.reading = undefined));
    return this.reading;
  }

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async readOnce(): Promise<ControlView> {
    let read: Awaited<ReturnType<ControlTable['read']>>;
    try {
      read = await this.control.read();
    } catch (err) {
      this.opts.log?.('warn', 'control state read failed; keeping the last one', { error: (err as Error).message });
      return this.view;
    }
    const previous = this.view;
    const doc = toConfigDocument(read.config);
    let next: ControlView = { ...previous, state: read.state };
    if (doc.version !== previous.configVersion && doc.version !== previous.rejectedVersion) {
      try {
        next = { state: read.state, config: effectiveConfig(this.deployed, doc, this.opts.group ?? DEFAULT_NODE_GROUP), configVersion: doc.version };
      } catch (err) {
        next = { ...next, configError: `config version ${doc.version} refused: ${(err as Error).message}`, rejectedVersion: doc.version };
        this.opts.log?.('error', 'new config version is invalid for this node; the previous one stays in force', { version: doc.version, error: (err as Error).message });
      }
    }
    this.view = next;
    if (next.state.generation !== previous.state.generation || next.configVersion !== previous.configVersion) this.opts.onChange?.(next, previous);
    return next;
  }
}
