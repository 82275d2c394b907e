import { clientOnSameEndpoint, createAwsClients } from '../../../lib/aws/clients';

// Records which SDK packages get loaded (a mock factory runs when its module is first required).
const mockLoaded: string[] = [];
jest.mock('@aws-sdk/client-s3', () => (mockLoaded.push('client-s3'), jest.requireActual('@aws-sdk/client-s3')));
jest.mock('@aws-sdk/client-sqs', () => (mockLoaded.push('client-sqs'), jest.requireActual('@aws-sdk/client-sqs')));
jest.mock('@aws-sdk/client-dynamodb', () => (mockLoaded.push('client-dynamodb'), jest.requireActual('@aws-sdk/client-dynamodb')));
jest.mock('@aws-sdk/lib-dynamodb', () => (mockLoaded.push('lib-dynamodb'), jest.requireActual('@aws-sdk/lib-dynamodb')));
jest.mock('@aws-sdk/client-sfn', () => (mockLoaded.push('client-sfn'), jest.requireActual('@aws-sdk/client-sfn')));

describe('createAwsClients', () => {
  const env = { AWS_REGION: 'eu-west-1' };

  it('loads no SDK package until a client is read, then only that one', () => {
    const clients = createAwsClients({ endpoint: 'http://127.0.0.1:1' }, env);
    expect(mockLoaded).toEqual([]);

    expect(clients.sfn.constructor.name).toBe('SFNClient');

    expect(mockLoaded).toEqual(['client-sfn']);
  });

  it('builds each client once, on first use, and the document client on the same DynamoDB client', async () => {
    const clients = createAwsClients({ endpoint: 'http://127.0.0.1:2' }, env);

    const s3 = clients.s3;

    expect(clients.s3).toBe(s3);
    expect(clients.doc).toBe(clients.doc);
    expect(mockLoaded).toEqual(expect.arrayContaining(['client-s3', 'client-dynamodb', 'lib-dynamodb']));
    expect(await s3.config.forcePathStyle).toBe(true);
  });

  it('returns the same clients for the same endpoint, region and credentials, and new ones otherwise', () => {
    const a = createAwsClients({ endpoint: 'http://127.0.0.1:3' }, env);

    expect(createAwsClients({ endpoint: 'http://127.0.0.1:3', region: 'eu-west-1' }, {})).toBe(a);
    expect(createAwsClients({ endpoint: 'http://127.0.0.1:3' }, { AWS_REGION: 'us-east-2' })).not.toBe(a);
    expect(createAwsClients({ endpoint: 'http://127.0.0.1:3' }, { ...env, AWS_PROFILE: 'ops' })).not.toBe(a);
  });
});

describe('clientOnSameEndpoint', () => {
  it('gives another client the endpoint, region and dummy credentials without building an SQS client', async () => {
    const clients = createAwsClients({ endpoint: 'http://127.0.0.1:4' }, { AWS_REGION: 'eu-west-1' });
    class FakeClient {
      constructor(readonly config: Record<string, unknown>) {}
    }

    const other = clientOnSameEndpoint(clients, FakeClient, { maxAttempts: 2 });

    expect(other.config).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 2 });
    expect(mockLoaded).not.toContain('client-sqs');
  });
});
