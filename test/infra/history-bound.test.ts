import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defaultStageConfig } from '../../infra/config';
import type { DataSourceConfig } from '../../infra/data-source-config';
import { createShardlineStack } from '../../infra/shardline-stack';
import { cyclesOf, secondsBeforeContinuing, worstCaseHistory, type Asl } from '../support/asl-history';

/** Standard workflows fail an execution whose history reaches this many events. */
const HISTORY_QUOTA = 25_000;
const DAY = 24 * 3600;

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
// With a DataSync source, so that the run's copy-following loop is derived too.
const filer: DataSourceConfig = { kind: 'nfs', name: 'filer', server: 'filer.corp.example', path: '/exports', agentArns: ['arn:aws:datasync:us-east-1:111122223333:agent/agent-0123456789abcdef0'] };
const stack = createShardlineStack(app, 'History', { ...defaultStageConfig('test'), dataSources: [filer] });
const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
const definitionOf = (machine: { node: { defaultChild?: unknown } }): Asl => {
  const parts = resources[stack.getLogicalId(machine.node.defaultChild as never)].Properties.DefinitionString['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : (p as { Ref?: string }).Ref === 'AWS::Partition' ? 'aws' : 'resolved-reference')).join(''));
};
const run = definitionOf(stack.shardline.controlPlane.runStateMachine);
const control = definitionOf(stack.shardline.controlPlane.controlStateMachine);
const edited = (asl: Asl, edit: (a: Asl) => void): Asl => {
  const copy = structuredClone(asl);
  edit(copy);
  return copy;
};
const withoutContinuation = (rules: Array<{ Next: string }>) => rules.filter((r) => !r.Next.endsWith('ContinueAsNew'));

describe('Step Functions history of long runs and drains (25,000 events per execution)', () => {
  const figures = {
    'run, 24 h in one execution (waits only)': worstCaseHistory(run, { mode: { horizonSeconds: DAY } }),
    'run, any length (continues as new)': worstCaseHistory(run, { mode: { execution: true } }),
    'source copy, 24 h in one execution (waits only)': worstCaseHistory(run, { mode: { horizonSeconds: DAY }, through: 'RunSourceCopyPace' }),
    'source copy, any length (continues as new)': worstCaseHistory(run, { mode: { execution: true }, through: 'RunSourceCopyPace' }),
    'drain, 24 h in one execution (waits only)': worstCaseHistory(control, { mode: { horizonSeconds: DAY }, through: 'ControlDrainedPace' }),
    'drain, any length (continues as new)': worstCaseHistory(control, { mode: { execution: true }, through: 'ControlDrainedPace' }),
    'any control action, 24 h (waits only)': worstCaseHistory(control, { mode: { horizonSeconds: DAY } }),
    'any control action, any length': worstCaseHistory(control, { mode: { execution: true } }),
  };

  it('prints the worst-case history of each, against the quota', () => {
    console.log(
      Object.entries(figures)
        .map(([what, events]) => `${what.padEnd(50)} ${String(events).padStart(6)} events (quota ${HISTORY_QUOTA})`)
        .join('\n'),
    );
    expect(Object.values(figures).every(Number.isFinite)).toBe(true);
  });

  it.each(Object.keys(figures))('%s stays under the quota', (what) => {
    expect(figures[what as keyof typeof figures]).toBeLessThan(HISTORY_QUOTA);
  });

  it('finds every loop of both machines, and none runs without a wait or a cap', () => {
    const runLoops = cyclesOf(run);
    const controlLoops = cyclesOf(control);
    // The listing (pages), the wait for the leader and the wait for a DataSync copy; the four waits of control.
    expect(new Set(runLoops.map((c) => (c.states.includes('RunSourceDescribe') ? 'copy' : c.seconds === 0 ? 'listing' : 'waiting')))).toEqual(new Set(['listing', 'waiting', 'copy']));
    expect(new Set(controlLoops.map((c) => c.states.find((s) => s.endsWith('Read'))))).toEqual(new Set(['ControlObeyedRead', 'ControlDrainedRead', 'ControlStopDrainedRead', 'ControlLeasesBackRead']));
    for (const c of [...runLoops, ...controlLoops]) {
      expect(c.seconds > 0 || c.cap < Infinity || c.perExecutionCap < Infinity).toBe(true);
      expect(Math.min(c.cap, c.perExecutionCap)).toBeLessThan(Infinity);
    }
  });

  it('continues as new before the execution times out (else a long wait would end TIMED_OUT)', () => {
    for (const asl of [run, control]) {
      expect(asl.TimeoutSeconds).toBeDefined();
      expect(secondsBeforeContinuing(asl)).toBeLessThan(asl.TimeoutSeconds!);
    }
  });

  describe('fails when someone', () => {
    it('shortens the long wait of the run (90 s to 30 s)', () => {
      const faster = edited(run, (a) => (a.States.RunSettleWaitLong.Seconds = 30));
      expect(worstCaseHistory(faster, { mode: { horizonSeconds: DAY } })).toBeGreaterThan(HISTORY_QUOTA);
    });

    it('shortens the long wait of the drain (120 s to 60 s)', () => {
      const faster = edited(control, (a) => (a.States.ControlDrainedWaitLong.Seconds = 60));
      expect(worstCaseHistory(faster, { mode: { horizonSeconds: DAY }, through: 'ControlDrainedPace' })).toBeGreaterThan(HISTORY_QUOTA);
    });

    it('removes the continuation of the run’s wait, or of its listing', () => {
      const noWaitBound = edited(run, (a) => (a.States.RunSettlePace.Choices = withoutContinuation(a.States.RunSettlePace.Choices!)));
      expect(worstCaseHistory(noWaitBound, { mode: { execution: true } })).toBe(Infinity);
      const noListingBound = edited(run, (a) => (a.States.RunMorePages.Choices = withoutContinuation(a.States.RunMorePages.Choices!)));
      expect(worstCaseHistory(noListingBound, { mode: { execution: true } })).toBe(Infinity);
      expect(worstCaseHistory(noListingBound, { mode: { horizonSeconds: DAY } })).toBe(Infinity);
    });

    it('shortens the long wait for a DataSync copy (300 s to 30 s)', () => {
      const faster = edited(run, (a) => (a.States.RunSourceCopyWaitLong.Seconds = 30));
      expect(worstCaseHistory(faster, { mode: { horizonSeconds: DAY }, through: 'RunSourceCopyPace' })).toBeGreaterThan(HISTORY_QUOTA);
    });

    it('removes the continuation of the wait for a DataSync copy', () => {
      const noBound = edited(run, (a) => (a.States.RunSourceCopyPace.Choices = withoutContinuation(a.States.RunSourceCopyPace.Choices!)));
      expect(worstCaseHistory(noBound, { mode: { execution: true }, through: 'RunSourceCopyPace' })).toBe(Infinity);
    });

    it('removes the continuation of the drain', () => {
      const noBound = edited(control, (a) => (a.States.ControlDrainedPace.Choices = withoutContinuation(a.States.ControlDrainedPace.Choices!)));
      expect(worstCaseHistory(noBound, { mode: { execution: true }, through: 'ControlDrainedPace' })).toBe(Infinity);
    });

    it('turns a wait of the loop into no wait at all', () => {
      const busy = edited(run, (a) => (a.States.RunSettleWaitLong.Seconds = 0));
      expect(worstCaseHistory(busy, { mode: { horizonSeconds: DAY } })).toBe(Infinity);
    });
  });
});
