import { ControlLagNudger } from '../../../lib/agent/control-lag';
import type { NodeItem } from '../../../lib/cluster/registry';
import { INITIAL_CONTROL_STATE } from '../../../lib/control/control-state';
import { memoryLog } from './fakes';

const node = (nodeId: string, controlGeneration: number, configVersion: number, status: NodeItem['status'] = 'ACTIVE') =>
  ({ nodeId, status, load: { inFlight: 0, chunksDone: 0, concurrency: 1, controlGeneration, configVersion } }) as NodeItem;

describe('ControlLagNudger', () => {
  it('nudges the live nodes behind the leader once per change', async () => {
    const nudged: string[][] = [];
    let view = { state: { ...INITIAL_CONTROL_STATE, generation: 3 }, configVersion: 2 };
    const nodes = [node('a', 3, 2), node('b', 2, 2), node('c', 3, 1), node('d', 1, 1, 'DEAD')];
    const nudger = new ControlLagNudger({ nodes: async () => nodes, view: () => view, nudge: async (ids) => void nudged.push(ids), log: memoryLog() });
    await nudger.nudge();
    await nudger.nudge();
    expect(nudged).toEqual([['b', 'c']]);
    view = { ...view, state: { ...view.state, generation: 4 } };
    await nudger.nudge();
    expect(nudged).toEqual([
      ['b', 'c'],
      ['a', 'b', 'c'],
    ]);
  });
});
