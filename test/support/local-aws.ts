import { createAwsClients, type AwsClients } from '../../lib/aws/clients';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';
import { provisionLocalStack } from '../../local/provision-stack';
import { resourcesFromOutputs, type ResourceNames } from '../../lib/resources';

/** A moto server with shardline's stack provisioned on it, for integration tests. */
export interface ProvisionedEndpoint {
  server: MotoServer;
  clients: AwsClients;
  resources: ResourceNames;
}

/** Starts moto on a free port and provisions the CDK stack's resources on it. */
export async function startProvisionedEndpoint(): Promise<ProvisionedEndpoint> {
  const server = await startMotoServer();
  try {
    const clients = createAwsClients({ endpoint: server.endpoint, region: 'us-east-1' });
    const resources = resourcesFromOutputs(await provisionLocalStack(clients, { namePrefix: 'shardline-test' }));
    return { server, clients, resources };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
