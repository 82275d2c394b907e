import { resolveTarget, type TargetOptions } from '../../lib/aws/target';
import { moveBack, redrive } from '../../lib/ops/redrive';

/**
 * `shardline redrive`: after a fix, sends the work DLQ back and releases every quarantined object
 * (`--object <id>`: that object only, from the ledger); `--queue ingest` sends the ingest DLQ back
 * to ingest-events.
 */
export async function redriveCommand(opts: TargetOptions & { queue: 'work' | 'ingest'; object?: string[] }): Promise<void> {
  const t = await resolveTarget(opts);
  if (opts.queue === 'ingest') {
    const moved = await moveBack(t.clients.sqs, t.resources.ingestEventsDlqUrl, t.resources.ingestEventsQueueUrl);
    console.log(`redrove ${moved.count} ingest event(s)`);
    return;
  }
  const deps = { sqs: t.clients.sqs, doc: t.clients.doc, ledgerTable: t.resources.ledgerTable };
  const result = await redrive(deps, t.resources.workDlqUrl, t.resources.workQueueUrl, { objectIds: opts.object?.length ? opts.object : undefined });
  console.log(`redrove ${result.moved} message(s); released ${result.objectsReopened} quarantined object(s); sent ${result.chunksResent} failed chunk(s) again from the ledger`);
}
