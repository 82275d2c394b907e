import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { clientOnSameEndpoint, type AwsClients } from '../aws/clients';

const cache = new WeakMap<AwsClients, CloudWatchLogsClient>();

/**
 * A CloudWatch Logs client bound to the same endpoint, region and credentials as `clients`
 * (`createAwsClients` builds no Logs client), so the emulator is reached the same way.
 */
export function cloudWatchLogsFor(clients: AwsClients): CloudWatchLogsClient {
  let logs = cache.get(clients);
  if (!logs) {
    logs = clientOnSameEndpoint(clients, CloudWatchLogsClient);
    cache.set(clients, logs);
  }
  return logs;
}
