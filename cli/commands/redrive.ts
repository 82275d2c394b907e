import { resolveTarget, type TargetOptions } from '../../lib/aws/target';
import { redrive } from '../../lib/ops/redrive';

/** `shardline redrive`: sends dead-lettered messages back (work DLQ → work queue, or ingest DLQ → ingest-events). */
export async function redriveCommand(opts: TargetOptions & { queue: 'work' | 'ingest' }): Promise<void> {
  const t = await resolveTarget(opts);
  const [from, to] = opts.queue === 'work' ? [t.resources.workDlqUrl, t.resources.workQueueUrl] : [t.resources.ingestEventsDlqUrl, t.resources.ingestEventsQueueUrl];
  const result = await redrive({ sqs: t.clients.sqs, doc: t.clients.doc, ledgerTable: t.resources.ledgerTable }, from, to);
  console.log(`redrove ${result.moved} message(s); reopened ${result.objectsReopened} failed object(s)`);
}
