import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { AwsClients } from '../aws/clients';

const cache = new WeakMap<AwsClients, CloudWatchLogsClient>();

/**
 * A CloudWatch Logs client bound to the same endpoint, region and credentials as `clients`
 * (`createAwsClients` builds no Logs client), so the emulator is reached the same way.
 */
export function cloudWatchLogsFor(clients: AwsClients): CloudWatchLogsClient {
  let logs = cache.get(clients);
  if (!logs) {
    logs = new CloudWatchLogsClient({
      region: clients.region,
      ...(clients.endpoint ? { endpoint: clients.endpoint } : {}),
      credentials: clients.sqs.config.credentials,
    });
    cache.set(clients, logs);
  }
  return logs;
}
