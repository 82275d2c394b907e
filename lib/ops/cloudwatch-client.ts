import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { clientOnSameEndpoint, type AwsClients } from '../aws/clients';

const cache = new WeakMap<AwsClients, Map<number, CloudWatchClient>>();

/**
 * A CloudWatch client bound to the same endpoint, region and credentials as `clients`, with few
 * attempts (`clients.cloudwatch` retries 8 times, adaptively, which suits the agents' publishing):
 * an operator command should report an unreadable endpoint quickly, and an emulator that refuses
 * a statistic (moto: percentiles) answers 500 to every attempt.
 */
export function cloudWatchFor(clients: AwsClients, maxAttempts = 2): CloudWatchClient {
  let byAttempts = cache.get(clients);
  if (!byAttempts) cache.set(clients, (byAttempts = new Map()));
  let cw = byAttempts.get(maxAttempts);
  if (!cw) {
    cw = clientOnSameEndpoint(clients, CloudWatchClient, { maxAttempts });
    byAttempts.set(maxAttempts, cw);
  }
  return cw;
}
