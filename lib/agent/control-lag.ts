import type { NodeItem } from '../cluster/registry';
import type { ControlView } from '../control/control-watcher';
import type { Log } from '../log';

export interface ControlLagNudgerDeps {
  /** The registry as the leader's last sweep read it. */
  nodes: () => Promise<NodeItem[]>;
  /** The control state and config version the leader obeys. */
  view: () => Pick<ControlView, 'state' | 'configVersion'>;
  nudge: (nodeIds: string[]) => Promise<void>;
  log: Log;
}

/**
 * The leader's relay of control changes: idle nodes read the control table only every 30 s, so
 * after each sweep the leader nudges every live node whose heartbeat reports an older control
 * generation or config version than the leader's own, once per node and change; the node's next
 * heartbeat reads the nudge back and it reads the control table at once.
 */
export class ControlLagNudger {
  private readonly nudged = new Map<string, string>();

  constructor(private readonly deps: ControlLagNudgerDeps) {}

  async nudge(): Promise<void> {
    try {
      const { state, configVersion } = this.deps.view();
      const change = `${state.generation}/${configVersion}`;
      const lagging = (await this.deps.nodes()).filter(
        (n) =>
          n.status !== 'DEAD' && n.load !== undefined && ((n.load.controlGeneration ?? -1) < state.generation || (n.load.configVersion ?? -1) < configVersion) && this.nudged.get(n.nodeId) !== change,
      );
      if (lagging.length === 0) return;
      lagging.forEach((n) => this.nudged.set(n.nodeId, change));
      await this.deps.nudge(lagging.map((n) => n.nodeId));
    } catch (err) {
      this.deps.log('warn', 'could not nudge nodes behind the control state', { error: (err as Error).message });
    }
  }
}
