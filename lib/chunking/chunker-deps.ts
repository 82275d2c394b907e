import { configFromEnv } from '../config/pipeline-config';
import { createAwsClients } from '../aws/clients';
import { ControlTable } from '../control/control-state';
import { ControlWatcher } from '../control/control-watcher';
import { ObjectLedger } from '../ledger/object-ledger';
import { RunLedger } from '../ledger/run-ledger';
import { resourcesFromEnv } from '../resources';
import type { ChunkerDeps } from './chunker';

/** How long the chunker trusts its copy of the central config before reading it again. */
const CONFIG_MAX_AGE_MS = 2000;

/**
 * Builds the chunker's dependencies from its environment; a bad config fails at start. The
 * deployed config is version 0; newer versions are read from the control table.
 */
export function createChunkerDeps(env: NodeJS.ProcessEnv, log?: ChunkerDeps['log']): ChunkerDeps {
  const names = resourcesFromEnv(env, ['processedBucket', 'workQueueUrl', 'ledgerTable', 'controlTable']);
  const deployed = configFromEnv(env);
  const clients = createAwsClients({ endpoint: env.AWS_ENDPOINT_URL });
  const watcher = new ControlWatcher(new ControlTable(clients.doc, names.controlTable), deployed, { log: log && ((level, message, fields) => log(level === 'error' ? 'warn' : level, message, fields)) });
  let readAt = 0;
  const deps: ChunkerDeps = {
    s3: clients.s3,
    sqs: clients.sqs,
    objects: new ObjectLedger(clients.doc, names.ledgerTable),
    runs: new RunLedger(clients.doc, names.ledgerTable, names.controlTable),
    workQueueUrl: names.workQueueUrl,
    processedBucket: names.processedBucket,
    config: deployed,
    refreshConfig: async () => {
      if (Date.now() - readAt < CONFIG_MAX_AGE_MS) return;
      deps.config = (await watcher.refresh()).config;
      readAt = Date.now();
    },
    log,
  };
  return deps;
}
