import type { NodeLoad } from '../cluster/registry';
import type { PipelineConfig } from '../config/pipeline-config';
import type { ControlView, ControlWatcher } from '../control/control-watcher';
import type { Log } from '../log';
import type { Cancel, Clock } from './clock';

/** What the follower needs of a `ControlWatcher`. */
export type ControlSource = Pick<ControlWatcher, 'current' | 'refresh' | 'start' | 'stop'>;

export interface ControlFollowerDeps {
  /** Creates the watcher that calls `onChange` when the control state or config version changes. */
  watch: (onChange: (view: ControlView, previous: ControlView) => void) => ControlSource;
  /** The node group whose config overrides apply to this node. */
  group: string;
  /** Puts a config version in force (the work loops follow its concurrency). */
  applyConfig: (config: PipelineConfig) => void;
  /** The concurrency in force, for the log line of a config change. */
  concurrency: () => number;
  /** Emergency stop: hands back every lease this node holds; returns how many. */
  handBackLeases: () => Promise<number>;
  inFlight: () => number;
  /** Reports what this node obeys now (a heartbeat), so the control plane sees it within a second. */
  heartbeat: () => Promise<void>;
  /** Whether the node is busy (chunks in flight, just worked, leading): read every poll then, else every `IDLE_CONTROL_POLL_MS`. @default always busy */
  active?: () => boolean;
  clock: Clock;
  log: Log;
}

/**
 * How often an idle node reads the control table by itself. The leader nudges a node whose
 * heartbeat reports an older generation or config version (`NodeRegistry.nudge`), which makes it
 * read at once, and a node reads before it leases work on a view older than two polls: so an idle
 * node obeys a change within seconds while asking the table twice a minute.
 */
export const IDLE_CONTROL_POLL_MS = 30_000;

/**
 * Obeys the control table: applies a new control action or config version within a second of it
 * being recorded, hands back every lease on an emergency stop, and says what this node obeys.
 */
export class ControlFollower {
  private readonly watcher: ControlSource;
  private following = false;
  private lastActionSeenAt = 0;
  private lastReadAt = -Infinity;
  private stopPolling?: Cancel;

  constructor(private readonly deps: ControlFollowerDeps) {
    this.watcher = deps.watch((view, previous) => this.obey(view, previous));
  }

  /** The control state and config this node obeys. */
  current(): ControlView {
    return this.watcher.current();
  }

  /** When this node last saw a control action (its start counts as one). */
  get lastActionAt(): number {
    return this.lastActionSeenAt;
  }

  /**
   * Reads the state and config in force and applies the config. Changes are obeyed only once
   * `follow()` is called (obeying heartbeats, which needs the registry item that joining creates).
   */
  async refresh(): Promise<void> {
    await this.read();
    this.deps.applyConfig(this.watcher.current().config);
    this.lastActionSeenAt = this.deps.clock.now();
  }

  /** Reads the control table every `pollMs` while the node is busy (every `IDLE_CONTROL_POLL_MS` while idle) and obeys every change. */
  follow(pollMs: number): void {
    this.following = true;
    this.stopPolling = this.deps.clock.every(pollMs, () => {
      if ((this.deps.active?.() ?? true) || this.deps.clock.now() - this.lastReadAt >= IDLE_CONTROL_POLL_MS) void this.read();
    });
  }

  /** The node has news (a nudge): reads the control table now. */
  nudged(): void {
    void this.read();
  }

  /** Reads the control table unless the view in force was read less than `maxAgeMs` ago (before leasing work on an idle node's old view). */
  async freshen(maxAgeMs: number): Promise<void> {
    if (this.deps.clock.now() - this.lastReadAt > maxAgeMs) await this.read();
  }

  stop(): void {
    this.stopPolling?.();
    this.watcher.stop();
  }

  private async read(): Promise<void> {
    this.lastReadAt = this.deps.clock.now();
    await this.watcher.refresh();
  }

  /** What this node obeys, for `status` and the control state machine (carried by heartbeats). */
  report(): Omit<NodeLoad, 'inFlight' | 'chunksDone' | 'concurrency'> {
    const view = this.watcher.current();
    return {
      controlGeneration: view.state.generation,
      desired: view.state.desired,
      configVersion: view.configVersion,
      configGroup: this.deps.group,
      ...(view.configError ? { configError: view.configError } : {}),
    };
  }

  private obey(view: ControlView, previous: ControlView): void {
    if (!this.following) return;
    const { log } = this.deps;
    if (view.state.generation !== previous.state.generation) {
      this.lastActionSeenAt = this.deps.clock.now();
      log('info', 'control state changed', { desired: view.state.desired, generation: view.state.generation, action: view.state.action, reason: view.state.reason });
      if (view.state.emergency) void this.handBackEverything();
    }
    if (view.configVersion !== previous.configVersion) {
      const before = this.deps.concurrency();
      this.deps.applyConfig(view.config);
      log('info', 'config version applied', { configVersion: view.configVersion, concurrency: this.deps.concurrency(), previousConcurrency: before });
    }
    void this.deps.heartbeat();
  }

  /** Emergency stop: every lease this node holds goes back to the queue now; late results are discarded. */
  private async handBackEverything(): Promise<void> {
    try {
      const revoked = await this.deps.handBackLeases();
      this.deps.log('warn', 'emergency stop: handed back leases', { revoked, inFlight: this.deps.inFlight() });
    } catch (err) {
      this.deps.log('error', 'emergency stop: hand-back failed (the leader retries through the failure detector)', { error: (err as Error).message });
    }
  }
}
