import type { AwsClients } from '../aws/clients';
import type { PipelineConfig } from '../config/pipeline-config';
import { ControlTable } from '../control/control-state';
import { ControlWatcher } from '../control/control-watcher';
import { ObjectLedger } from '../ledger/object-ledger';
import { RunLedger } from '../ledger/run-ledger';
import type { ResourceNames } from '../resources';
import type { ChunkerDeps } from './chunker';
import { ledgerRefusals } from './refuse-object';

/** How long the chunker trusts its copy of the central config before reading it again. */
const CONFIG_MAX_AGE_MS = 2000;

/** The resources the chunker uses. */
export type ChunkerResources = Pick<ResourceNames, 'processedBucket' | 'workQueueUrl' | 'ledgerTable' | 'controlTable'>;

/**
 * Builds the chunker's dependencies. The deployed config is version 0; newer versions are read
 * from the control table, at most every {@link CONFIG_MAX_AGE_MS}.
 */
export function createChunkerDeps(
  clients: Pick<AwsClients, 's3' | 'sqs' | 'doc'>,
  names: ChunkerResources,
  deployed: PipelineConfig,
  log?: ChunkerDeps['log'],
  now: () => number = Date.now,
): ChunkerDeps {
  const watcher = new ControlWatcher(new ControlTable(clients.doc, names.controlTable), deployed, { log });
  let readAt = -Infinity;
  const deps: ChunkerDeps = {
    s3: clients.s3,
    sqs: clients.sqs,
    objects: new ObjectLedger(clients.doc, names.ledgerTable),
    refusals: ledgerRefusals(clients.doc, names.ledgerTable),
    runs: new RunLedger(clients.doc, names.ledgerTable, names.controlTable),
    workQueueUrl: names.workQueueUrl,
    processedBucket: names.processedBucket,
    config: deployed,
    refreshConfig: async () => {
      if (now() - readAt < CONFIG_MAX_AGE_MS) return;
      deps.config = (await watcher.refresh()).config;
      readAt = now();
    },
    log,
  };
  return deps;
}
