/** Where in the pipeline a finding places the limit. */
export type BottleneckStage =
  | 'dead-node'
  | 'too-few-nodes'
  | 'processing'
  | 'download'
  | 'upload'
  | 'commit'
  | 's3-throttling'
  | 'dynamodb-throttling'
  | 'queue'
  | 'chunker'
  | 'control'
  | 'distribution'
  | 'skewed-placement'
  | 'errors'
  | 'metrics';

/** critical: work is stuck or lost capacity; warning: the pipeline is slower than it could be; info: worth knowing. */
export type Severity = 'critical' | 'warning' | 'info';

/** One conclusion of doctor, with the figures behind it and what to do. */
export interface Finding {
  stage: BottleneckStage;
  severity: Severity;
  /** One line naming the limit. */
  title: string;
  /** The figures that support it, one per line. */
  evidence: string[];
  /** A concrete action. */
  recommendation: string;
  /** Strength within its severity (higher ranks first); 0..1. */
  score: number;
}

/** healthy: no bottleneck while work flows; idle: nothing to do in the window; bottleneck: see the first finding. */
export type Verdict = 'bottleneck' | 'healthy' | 'idle';

export interface Diagnosis {
  verdict: Verdict;
  /** One line: the bottleneck, or why there is none. */
  headline: string;
  /** Ranked: the bottleneck first. */
  findings: Finding[];
  /** Figures of the window the verdict rests on. */
  summary: string[];
}

const ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Most severe first, then strongest. */
export function rankFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || b.score - a.score);
}
