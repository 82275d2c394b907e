import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defaultStageConfig, validateStageConfig, type StageConfig } from '../../infra/config';
import { Shardline } from '../../infra/shardline';
import { resolveStageConfig, type ShardlineProps } from '../../infra/shardline-props';
import { AgentMetric, ChunkerMetric } from '../../lib/observability/metric-names';

/** A stack holding shardline alone, bundling off (one synth for the file). */
function synth(props: ShardlineProps): Template {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
  new Shardline(stack, 'Default', props);
  return Template.fromStack(stack);
}

const template = synth({ stageName: 'cb', maxObjectFailurePercent: 35, minObjectsForFailureRate: 5, objectFailureWindowMinutes: 30 });

/** The dashboard body as JSON, each CloudFormation token written as `${Ref:Id}` / `${Id.Attr}`. */
function graphs(): Array<{ title: string; metrics: unknown[][]; period: number; annotations?: { horizontal: Array<{ value: number; label: string; yAxis?: string }> } }> {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = dashboard.Properties.DashboardBody;
  const parts: unknown[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  const text = parts.map((p: any) => (typeof p === 'string' ? p : p.Ref ? `\${Ref:${p.Ref}}` : `\${${p['Fn::GetAtt'].join('.')}}`)).join('');
  return (JSON.parse(text) as { widgets: Array<{ type: string; properties: any }> }).widgets.filter((w) => w.type === 'metric').map((w) => w.properties);
}

describe('circuit breaker thresholds in ShardlineProps', () => {
  it('sets the object failure-rate alarm: threshold, minimum count and window', () => {
    const [alarm] = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'shardline-cb-object-failure-rate' } }));
    expect(alarm.Properties.Threshold).toBe(35);
    expect(alarm.Properties.Metrics[0].Expression).toMatch(/ >= 5, 100 \* /);
    expect(alarm.Properties.Metrics.slice(1).map((m: { MetricStat: { Period: number } }) => m.MetricStat.Period)).toEqual([1800, 1800, 1800]);
    expect(alarm.Properties.AlarmDescription).toMatch(/^More than 35% of the objects that finished in 30 minutes were quarantined \(at least 5 finished\)/);
  });

  it('graphs quarantined and refused against completed objects per window, with the failure rate and its threshold', () => {
    const g = graphs().find((w) => w.title.startsWith('Object failure rate'));
    expect(g).toBeDefined();
    expect(g!.title).toBe('Object failure rate: quarantined + refused vs completed (per 30 minutes)');
    expect(g!.period).toBe(1800);
    const plain = g!.metrics.filter((row) => typeof row[0] === 'string').map((row) => [row[1], (row.at(-1) as { label?: string }).label]);
    expect(plain).toEqual([
      [AgentMetric.objectsCompleted, 'completed'],
      [AgentMetric.objectsQuarantined, 'quarantined'],
      [ChunkerMetric.objectsRefused, 'refused (chunker)'],
    ]);
    const rate = g!.metrics.map((row) => row.at(-1) as { expression?: string; yAxis?: string }).find((o) => o.expression);
    expect(rate).toMatchObject({ expression: expect.stringMatching(/^IF\(.* >= 5, 100 \* /), yAxis: 'right' });
    expect(g!.annotations?.horizontal).toEqual([expect.objectContaining({ value: 35, yAxis: 'right' })]);
  });

  it('keeps the defaults (20% of at least 10 objects over 15 minutes) when the props say nothing', () => {
    const config = resolveStageConfig({ stageName: 'cb' });
    expect([config.maxObjectFailurePercent, config.minObjectsForFailureRate, config.objectFailureWindowMinutes]).toEqual([undefined, undefined, undefined]);
    const t = synth({ stageName: 'cb' });
    const [alarm] = Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'shardline-cb-object-failure-rate' } }));
    expect(alarm.Properties.Threshold).toBe(20);
    expect(alarm.Properties.Metrics[0].Expression).toMatch(/ >= 10, 100 \* /);
    expect(alarm.Properties.Metrics[1].MetricStat.Period).toBe(900);
  });

  it('refuses invalid thresholds in the props, with the reason, before any resource exists', () => {
    expect(() => new Shardline(new Stack(), 'Default', { stageName: 'cb', objectFailureWindowMinutes: 2.5 })).toThrow(
      /objectFailureWindowMinutes must be a whole number of minutes, 1..10080 \(got 2.5\)/,
    );
  });
});

describe('circuit breaker thresholds in the stage config', () => {
  const base = defaultStageConfig('x');
  const check = (extra: Partial<StageConfig>) => () => validateStageConfig({ ...base, ...extra });

  it('accepts thresholds in range', () => {
    expect(check({ maxObjectFailurePercent: 0.5, minObjectsForFailureRate: 1, objectFailureWindowMinutes: 1 })).not.toThrow();
    expect(check({ maxObjectFailurePercent: 99, minObjectsForFailureRate: 1000, objectFailureWindowMinutes: 10080 })).not.toThrow();
  });

  it.each([
    [{ maxObjectFailurePercent: 0 }, /maxObjectFailurePercent must be above 0 and below 100 \(got 0\)/],
    [{ maxObjectFailurePercent: 100 }, /maxObjectFailurePercent must be above 0 and below 100 \(got 100\)/],
    [{ maxObjectFailurePercent: Number.NaN }, /maxObjectFailurePercent/],
    [{ minObjectsForFailureRate: 0 }, /minObjectsForFailureRate must be a whole number of objects, at least 1 \(got 0\)/],
    [{ minObjectsForFailureRate: 2.5 }, /minObjectsForFailureRate/],
    [{ objectFailureWindowMinutes: 0 }, /objectFailureWindowMinutes must be a whole number of minutes, 1..10080 \(got 0\)/],
    [{ objectFailureWindowMinutes: 10081 }, /objectFailureWindowMinutes/],
  ] as [Partial<StageConfig>, RegExp][])('refuses %j', (extra, reason) => {
    expect(check(extra)).toThrow(reason);
  });
});
