import type { Log } from '../log';
import type { Cancel, Clock } from './clock';

/** How often instance metadata is asked whether the host is going away (a Spot notice gives two minutes). */
export const LEAVE_POLL_MS = 5000;

/** Why the host is leaving, and by when its replicas must be handed off, when the notice says. */
export interface LeaveReason {
  reason: string;
  /** Epoch ms (a Spot notice's `time`). */
  deadline?: number;
}

/** The instance metadata reads the notice needs (see `InstanceMetadata.probe`). */
export interface LeaveMetadata {
  probe(path: string): Promise<{ status: number; body: string } | undefined>;
}

export interface LeaveNoticeDeps {
  /** Instance metadata on AWS; absent locally, where nothing is polled. */
  imds?: LeaveMetadata;
  /** Starts the drain; called once, with why. */
  drain: (why: LeaveReason) => void;
  clock: Clock;
  log: Log;
}

/**
 * Notices that this host is leaving and starts the drain, once: when the registry says the node
 * is DRAINING (set by the Spot/scale-in Lambda or an operator, seen by a heartbeat), and on AWS
 * when instance metadata carries a Spot interruption notice (`spot/instance-action`) or an Auto
 * Scaling termination (`autoscaling/target-lifecycle-state` = Terminated), polled every 5 s.
 */
export class LeaveNotice {
  private noticed?: LeaveReason;
  private cancel?: Cancel;
  private polling = false;

  constructor(private readonly deps: LeaveNoticeDeps) {}

  /** Why the host is leaving, once noticed. */
  get reason(): LeaveReason | undefined {
    return this.noticed;
  }

  /** Starts polling instance metadata (on AWS only). */
  start(): void {
    if (this.deps.imds) this.cancel = this.deps.clock.every(LEAVE_POLL_MS, () => void this.poll(), { unref: true });
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  /** The registry says this node is DRAINING (wire to `NodeRegistry`'s `onDrainRequested`). */
  drainRequested(reason: string): void {
    this.notice({ reason: `registry: ${reason}` });
  }

  /** One look at instance metadata; never throws. */
  async poll(): Promise<void> {
    const imds = this.deps.imds;
    if (!imds || this.polling || this.noticed) return;
    this.polling = true;
    try {
      const spot = await imds.probe('spot/instance-action');
      if (spot?.status === 200) return this.notice(spotNotice(spot.body));
      const lifecycle = await imds.probe('autoscaling/target-lifecycle-state');
      if (lifecycle?.status === 200 && lifecycle.body.trim() === 'Terminated') this.notice({ reason: 'auto scaling: instance is being terminated' });
    } catch (err) {
      this.deps.log('warn', 'instance metadata poll failed', { error: (err as Error).message });
    } finally {
      this.polling = false;
    }
  }

  private notice(why: LeaveReason): void {
    if (this.noticed) return;
    this.noticed = why;
    this.stop();
    this.deps.log('warn', 'this host is leaving; draining', { reason: why.reason, ...(why.deadline ? { deadline: new Date(why.deadline).toISOString() } : {}) });
    this.deps.drain(why);
  }
}

/** `{"action": "terminate", "time": "2026-01-01T00:02:00Z"}` as a reason with its deadline. */
export function spotNotice(body: string): LeaveReason {
  try {
    const notice = JSON.parse(body) as { action?: string; time?: string };
    const deadline = notice.time ? Date.parse(notice.time) : NaN;
    return { reason: `spot interruption: ${notice.action ?? 'unknown action'}`, ...(Number.isFinite(deadline) ? { deadline } : {}) };
  } catch {
    return { reason: 'spot interruption' };
  }
}
