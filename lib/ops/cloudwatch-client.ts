import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { AwsClients } from '../aws/clients';

const cache = new WeakMap<AwsClients, CloudWatchClient>();

/**
 * A CloudWatch client bound to the same endpoint, region and credentials as `clients` (built by
 * `createAwsClients`, which has no CloudWatch client). Few attempts: an operator command should
 * report an unreadable endpoint quickly rather than retry for a minute, and an emulator that
 * refuses a statistic (moto: percentiles) answers 500 every time.
 */
export function cloudWatchFor(clients: AwsClients): CloudWatchClient {
  let cw = cache.get(clients);
  if (!cw) {
    cw = new CloudWatchClient({
      region: clients.region,
      ...(clients.endpoint ? { endpoint: clients.endpoint } : {}),
      credentials: clients.sqs.config.credentials,
      maxAttempts: 2,
    });
    cache.set(clients, cw);
  }
  return cw;
}
