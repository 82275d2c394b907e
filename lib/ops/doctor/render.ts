import type { DoctorEvidence } from './evidence';
import type { Diagnosis } from './finding';
import { windowText } from './checks/advice';

const MARK = { critical: 'CRITICAL', warning: 'WARNING', info: 'info' } as const;

/** The diagnosis as text: the verdict, the ranked findings with evidence and action, then the window's figures. */
export function renderDiagnosis(d: Diagnosis, e: Pick<DoctorEvidence, 'label' | 'stage' | 'windowSeconds' | 'metrics'>): string {
  const lines = [
    `DOCTOR ${e.label} · metrics Stage=${e.stage} · last ${windowText(e.windowSeconds)}${e.metrics.present && !e.metrics.percentiles ? ' · means (no percentiles from this endpoint)' : ''}`,
    '',
    d.headline,
  ];
  d.findings.forEach((f, i) => {
    lines.push('', `${i + 1}. [${MARK[f.severity]}] ${f.stage}: ${f.title}`);
    for (const ev of f.evidence) lines.push(`     · ${ev}`);
    lines.push(`     → ${f.recommendation}`);
  });
  lines.push('', 'FIGURES', ...d.summary.map((s) => `  ${s}`));
  return lines.join('\n');
}
