import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnose } from '../../../lib/ops/doctor/diagnose';
import type { DoctorEvidence } from '../../../lib/ops/doctor/evidence';
import { renderDiagnosis } from '../../../lib/ops/doctor/render';

/** A recorded scenario whose answer is known (test/fixtures/doctor/*.json). */
interface Fixture {
  scenario: string;
  description: string;
  expected: {
    verdict: string;
    stage?: string;
    severity?: string;
    headlineIncludes?: string;
    titleIncludes?: string;
    recommendationIncludes?: string[];
    evidenceIncludes?: string[];
    /** Further findings that must be listed after the first. */
    alsoStages?: string[];
    /** Findings that must not be listed. */
    absentStages?: string[];
  };
  evidence: DoctorEvidence;
}

const dir = join(__dirname, '../../fixtures/doctor');
const fixtures: Fixture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture);
const load = (name: string): DoctorEvidence => structuredClone(fixtures.find((f) => f.scenario === name)?.evidence) as DoctorEvidence;

describe('diagnose (recorded scenarios)', () => {
  it('has every scenario the issue names', () => {
    expect(fixtures.map((f) => f.scenario).sort()).toEqual(
      expect.arrayContaining(['dead-node', 'dynamodb-throttling', 'healthy', 's3-throttling', 'skewed-placement', 'slow-processing', 'starved-queue', 'too-few-nodes']),
    );
  });

  it.each(fixtures.map((f) => [f.scenario, f] as const))('names the known answer for %s', (_name, fixture) => {
    const d = diagnose(fixture.evidence);
    const { expected } = fixture;
    expect(d.verdict).toBe(expected.verdict);
    if (expected.headlineIncludes) expect(d.headline).toContain(expected.headlineIncludes);
    if (expected.verdict !== 'bottleneck') {
      expect(d.findings.filter((f) => f.severity !== 'info')).toEqual([]);
      return;
    }
    const top = d.findings[0];
    expect(top.stage).toBe(expected.stage);
    if (expected.severity) expect(top.severity).toBe(expected.severity);
    if (expected.titleIncludes) expect(top.title).toContain(expected.titleIncludes);
    for (const text of expected.recommendationIncludes ?? []) expect(top.recommendation).toContain(text);
    for (const text of expected.evidenceIncludes ?? []) expect(top.evidence.join('\n')).toContain(text);
    for (const stage of expected.alsoStages ?? []) expect(d.findings.slice(1).map((f) => f.stage)).toContain(stage);
    for (const stage of expected.absentStages ?? []) expect(d.findings.map((f) => f.stage)).not.toContain(stage);
    expect(d.headline).toBe(`bottleneck: ${top.title}`);
  });

  it.each(fixtures.map((f) => [f.scenario, f] as const))('backs every finding of %s with figures and an action', (_name, fixture) => {
    for (const f of diagnose(fixture.evidence).findings) {
      expect(f.evidence.length).toBeGreaterThan(0);
      expect(f.evidence.every((line) => /\d/.test(line))).toBe(true);
      expect(f.recommendation.length).toBeGreaterThan(20);
    }
  });
});

describe('diagnose (variations)', () => {
  it('says idle, not healthy, when nothing happened in the window', () => {
    const e = load('healthy');
    e.metrics = { ...e.metrics, chunksProcessed: 0, bytesProcessed: 0, inFlight: { meanPerNode: 0, meanFleet: 0, reportingNodes: 4 } };
    e.nodes.forEach((n) => Object.assign(n, { inFlight: 0, leasesHeld: 0 }));
    e.queues.work = { visible: 0, inFlight: 0, delayed: 0 };
    e.ledger = { ...e.ledger, incompleteObjects: 0, chunksLeased: 0 };
    e.replication.belowR = 0;
    const d = diagnose(e);
    expect(d.verdict).toBe('idle');
    expect(d.headline).toContain('nothing to do in the last 5m');
  });

  it('makes a dead node critical while it still holds leases', () => {
    const e = load('dead-node');
    Object.assign(e.nodes[3], { leasesHeld: 2, recoveredAt: undefined });
    const top = diagnose(e).findings[0];
    expect(top).toMatchObject({ stage: 'dead-node', severity: 'critical' });
    expect(top.evidence).toContain('2 chunk lease(s) still held by agent-4');
  });

  it('blames the missing leader when a silent node is never declared dead', () => {
    const e = load('healthy');
    Object.assign(e.nodes[2], { health: 'stale', heartbeatAgeMs: 60_000 });
    delete e.pipeline.leader;
    const top = diagnose(e).findings[0];
    expect(top).toMatchObject({ stage: 'dead-node', severity: 'critical' });
    expect(top.recommendation).toContain('no agent holds the leader lease');
  });

  it('names a paused pipeline rather than the queue when work waits', () => {
    const e = load('too-few-nodes');
    e.pipeline.desired = 'PAUSED';
    e.pipeline.reason = 'bad upstream batch';
    const d = diagnose(e);
    expect(d.findings[0]).toMatchObject({ stage: 'control' });
    expect(d.findings[0].recommendation).toContain('shardline control resume');
    expect(d.findings.map((f) => f.stage)).not.toContain('too-few-nodes');
  });

  it('is critical when no node is live and work waits', () => {
    const e = load('too-few-nodes');
    e.nodes.forEach((n) => Object.assign(n, { health: 'stale', status: 'ACTIVE', heartbeatAgeMs: 20_000 }));
    const stages = diagnose(e)
      .findings.filter((f) => f.severity === 'critical')
      .map((f) => f.stage);
    expect(stages).toEqual(expect.arrayContaining(['too-few-nodes', 'dead-node']));
  });

  it('reports dead-lettered chunks with the redrive to run after a fix', () => {
    const e = load('healthy');
    e.queues.workDlq = { visible: 3, inFlight: 0, delayed: 0 };
    e.ledger.failedChunks = 3;
    const d = diagnose(e);
    expect(d.findings[0]).toMatchObject({ stage: 'errors', severity: 'warning' });
    expect(d.findings[0].recommendation).toContain('shardline redrive');
  });

  it('works from heartbeats without metrics, and says so', () => {
    const e = load('too-few-nodes');
    e.metrics = { ...e.metrics, present: false, latency: {}, chunksProcessed: 0, bytesProcessed: 0 };
    delete e.metrics.inFlight;
    const d = diagnose(e);
    expect(d.findings[0].stage).toBe('too-few-nodes');
    expect(d.findings[0].evidence.join('\n')).toContain('now (heartbeats; no ChunksInFlight metric)');
    expect(d.findings.map((f) => f.stage)).toContain('metrics');
  });

  it('does not call busy nodes idle when the window reaches back before a burst of work', () => {
    // Seen live: a 1-minute window that began before an ingest averaged the nodes to 31% busy
    // while every heartbeat reported all slots busy and 36 chunks waited.
    const e = load('too-few-nodes');
    e.metrics.inFlight = { meanPerNode: 1.2, meanFleet: 3.6, reportingNodes: 3 };
    const stages = diagnose(e).findings.map((f) => f.stage);
    expect(stages).not.toContain('queue');
  });

  it('says agents are not taking work when both the window and the heartbeats are idle', () => {
    const e = load('too-few-nodes');
    e.metrics.inFlight = { meanPerNode: 0.3, meanFleet: 0.9, reportingNodes: 3 };
    e.nodes.forEach((n) => (n.inFlight = 0));
    const top = diagnose(e).findings[0];
    expect(top).toMatchObject({ stage: 'queue' });
    expect(top.title).toBe('backlog: 1,240 chunks wait but the nodes are 8% busy');
  });

  it('flags replica pulls lagging behind processing', () => {
    const e = load('healthy');
    e.replication = { ...e.replication, belowR: 400, pendingPulls: 700 };
    e.metrics.replicasPulled = 300; // 1/s pulled while 3 chunks/s × R=2 need 6/s
    const top = diagnose(e).findings[0];
    expect(top).toMatchObject({ stage: 'distribution', severity: 'warning' });
    expect(top.evidence).toContain('nodes pulled 1.0 replicas/s; processing adds 6.0 replicas/s (3.0 chunks/s × R=2)');
  });

  it('renders the verdict, each finding with its evidence and action, and the figures', () => {
    const e = load('slow-processing');
    const text = renderDiagnosis(diagnose(e), e);
    expect(text).toContain('bottleneck: transform is the slow stage: p90 process 820 ms of 1,000 ms total');
    expect(text).toContain('1. [WARNING] processing:');
    expect(text).toContain('2. [WARNING] too-few-nodes:');
    expect(text).toMatch(/→ records are CPU-bound/);
    expect(text).toContain('FIGURES');
  });
});
