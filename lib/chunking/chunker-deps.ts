import { configFromEnv } from '../config/pipeline-config';
import { createAwsClients } from '../aws/clients';
import { ObjectLedger } from '../ledger/object-ledger';
import { resourcesFromEnv } from '../resources';
import type { ChunkerDeps } from './chunker';

/** Builds the chunker's dependencies from its environment; a bad config fails at start. */
export function createChunkerDeps(env: NodeJS.ProcessEnv, log?: ChunkerDeps['log']): ChunkerDeps {
  const names = resourcesFromEnv(env, ['processedBucket', 'workQueueUrl', 'ledgerTable']);
  const config = configFromEnv(env);
  const clients = createAwsClients({ endpoint: env.AWS_ENDPOINT_URL });
  return {
    s3: clients.s3,
    sqs: clients.sqs,
    objects: new ObjectLedger(clients.doc, names.ledgerTable),
    workQueueUrl: names.workQueueUrl,
    processedBucket: names.processedBucket,
    config,
    log,
  };
}
