import type { DoctorEvidence } from '../evidence';
import type { Finding } from '../finding';
import type { Figures } from '../figures';
import { formatCount, pct } from '../../../units';
import { windowText } from './advice';

/** Share of chunk attempts failing above which errors, not capacity, limit the pipeline. */
const ERROR_SHARE = 0.1;

/** Dead-lettered work and a high chunk error rate. */
export function checkErrors(e: DoctorEvidence, _f: Figures): Finding | undefined {
  const dlq = e.queues.workDlq.visible;
  const ingestDlq = e.queues.ingestEventsDlq.visible;
  const errors = e.metrics.chunkErrors;
  const share = errors / Math.max(1, errors + e.metrics.chunksProcessed);
  const erring = errors >= 3 && share >= ERROR_SHARE;
  if (!dlq && !ingestDlq && !erring && !e.ledger.failedChunks) return undefined;
  const evidence: string[] = [];
  if (dlq || e.ledger.failedChunks)
    evidence.push(`${formatCount(Math.max(dlq, e.ledger.failedChunks))} chunk(s) dead-lettered (work DLQ ${formatCount(dlq)}; FAILED in the ledger ${formatCount(e.ledger.failedChunks)})`);
  if (ingestDlq) evidence.push(`${formatCount(ingestDlq)} ingest event(s) could not be planned (ingest-events DLQ)`);
  if (errors) {
    const kinds = Object.entries(e.metrics.chunkErrorsByKind)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${formatCount(n)}`)
      .join(', ');
    evidence.push(`${formatCount(errors)} chunk error(s) in ${windowText(e.windowSeconds)}: ${pct(share)} of attempts${kinds ? ` (${kinds})` : ''}`);
  }
  const redrive = [dlq || e.ledger.failedChunks ? 'shardline redrive' : '', ingestDlq ? 'shardline redrive --queue ingest' : ''].filter(Boolean).join(' and ');
  return {
    stage: 'errors',
    severity: 'warning',
    title: erring ? `chunks fail: ${pct(share)} of attempts in ${windowText(e.windowSeconds)}` : 'dead-lettered work waits for a fix',
    evidence,
    recommendation: `read the errors (shardline status lists each failed chunk's last error), fix the cause${redrive ? `, then ${redrive}` : ''}`,
    score: erring ? 0.7 : 0.4,
  };
}

/** No agent metrics in the window: doctor falls back to heartbeats and the ledger, and says so. */
export function checkMetrics(e: DoctorEvidence, f: Figures): Finding | undefined {
  if (e.metrics.present) return undefined;
  const why = e.metrics.error ? `CloudWatch could not be read: ${e.metrics.error}` : `no data point in namespace Shardline with Stage=${e.stage} in the last ${windowText(e.windowSeconds)}`;
  return {
    stage: 'metrics',
    severity: 'info',
    title: 'no agent metrics: judged from heartbeats, the ledger and the queues only',
    evidence: [why, ...(f.active ? [] : ['no work in the ledger or the queues either'])],
    recommendation: `check that the agents publish metrics and that --metrics-stage matches their Stage dimension (now ${e.stage})`,
    score: 0.1,
  };
}
