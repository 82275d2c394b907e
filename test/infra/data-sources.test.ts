import { CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { defaultStageConfig, validateStageConfig } from '../../infra/config';
import { DataSources } from '../../infra/constructs/data-sources';
import type { DataSourceConfig } from '../../infra/data-source-config';
import * as pkg from '../../infra';
import { Shardline } from '../../infra/shardline';
import type { IConstruct } from 'constructs';
import { bareStack, logicalIdOf, nagFindings } from './constructs/support';

const ACCOUNT = '111122223333';
const AGENT = `arn:aws:datasync:us-east-1:${ACCOUNT}:agent/agent-0123456789abcdef0`;
const SG = `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/sg-0123abcd`;
const KEYTAB = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:hdfs/datasync-keytab-AbCdEf`;
const PASSWORD = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:fsx/datasync-password-AbCdEf`;
const KMS_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const KRB5 = '[libdefaults]\n default_realm = CORP.EXAMPLE\n[realms]\n CORP.EXAMPLE = { kdc = kdc.corp.example }\n';

/** One source of every kind (HDFS twice: simple and Kerberos). */
const SOURCES: DataSourceConfig[] = [
  {
    kind: 'hdfs',
    name: 'hdfs-simple',
    nameNode: { host: 'namenode.corp.example', port: 8020 },
    path: '/data/train',
    agentArns: [AGENT],
    authentication: { type: 'SIMPLE', user: 'hdfs' },
    schedule: 'cron(0 2 * * ? *)',
  },
  {
    kind: 'hdfs',
    name: 'hdfs-kerberos',
    prefix: 'raw/secure',
    nameNode: { host: '10.0.0.5', port: 8020 },
    path: '/secure',
    agentArns: [AGENT],
    authentication: { type: 'KERBEROS', principal: 'datasync@CORP.EXAMPLE', keytabSecretArn: KEYTAB, keytabKmsKeyArn: KMS_KEY, krb5Conf: KRB5 },
    rpcProtection: 'PRIVACY',
    include: ['/part-*'],
    exclude: ['*.tmp', '/_SUCCESS'],
    bytesPerSecond: 104857600,
  },
  { kind: 'nfs', name: 'nfs', server: 'filer.corp.example', path: '/exports/datasets', agentArns: [AGENT], nfsVersion: 'NFS4_1', schedule: 'rate(6 hours)' },
  {
    kind: 'efs',
    name: 'efs',
    fileSystemArn: `arn:aws:elasticfilesystem:us-east-1:${ACCOUNT}:file-system/fs-0123abcd`,
    subnetArn: `arn:aws:ec2:us-east-1:${ACCOUNT}:subnet/subnet-0123abcd`,
    securityGroupArns: [SG],
    path: '/datasets',
  },
  { kind: 'fsx-lustre', name: 'lustre', fileSystemArn: `arn:aws:fsx:us-east-1:${ACCOUNT}:file-system/fs-0123456789abcdef0`, securityGroupArns: [SG], path: '/scratch' },
  {
    kind: 'fsx-windows',
    name: 'windows',
    fileSystemArn: `arn:aws:fsx:us-east-1:${ACCOUNT}:file-system/fs-0123456789abcdef1`,
    securityGroupArns: [SG],
    path: '/share',
    user: 'datasync',
    domain: 'CORP',
    passwordSecretArn: PASSWORD,
  },
  {
    kind: 'fsx-ontap',
    name: 'ontap',
    storageVirtualMachineArn: `arn:aws:fsx:us-east-1:${ACCOUNT}:storage-virtual-machine/fs-0123456789abcdef2/svm-0123456789abcdef0`,
    securityGroupArns: [SG],
    path: '/vol1',
  },
  { kind: 'fsx-openzfs', name: 'openzfs', fileSystemArn: `arn:aws:fsx:us-east-1:${ACCOUNT}:file-system/fs-0123456789abcdef3`, securityGroupArns: [SG], path: '/fsx/datasets' },
];

const stack = bareStack();
const ingestBucket = new s3.Bucket(stack, 'IngestBucket', { enforceSSL: true, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, encryption: s3.BucketEncryption.S3_MANAGED });
const dataSources = new DataSources(stack, 'DataSources', { sources: SOURCES, ingestBucket, logRetentionDays: 14 });
const starter = new iam.Role(stack, 'Starter', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
dataSources.grantStart(starter);
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }>;
/** The logical id of an L1 resource, or of an L2 construct's resource. */
const idOf = (c: IConstruct) => (CfnResource.isCfnResource(c) ? stack.getLogicalId(c) : logicalIdOf(c));
const props = (c: IConstruct) => resources[idOf(c)].Properties;
const source = (name: string) => dataSources.sources[name];
const bucketArn = { 'Fn::GetAtt': [logicalIdOf(ingestBucket), 'Arn'] };
const policyOf = (role: iam.Role) =>
  Object.values(template.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: logicalIdOf(role) }]))!.Properties.PolicyDocument;

describe('DataSources', () => {
  it('creates one task, one ingest-bucket location and one source location per source', () => {
    template.resourceCountIs('AWS::DataSync::Task', SOURCES.length);
    template.resourceCountIs('AWS::DataSync::LocationS3', SOURCES.length);
    template.resourceCountIs('AWS::DataSync::LocationHDFS', 2);
    for (const type of ['NFS', 'EFS', 'FSxLustre', 'FSxWindows', 'FSxONTAP', 'FSxOpenZFS']) template.resourceCountIs(`AWS::DataSync::Location${type}`, 1);
    expect(Object.keys(dataSources.taskArns).sort()).toEqual(SOURCES.map((s) => s.name).sort());
  });

  it('copies each source into the ingest bucket under its own prefix', () => {
    expect(props(source('hdfs-simple').destination)).toMatchObject({ S3BucketArn: bucketArn, Subdirectory: 'sources/hdfs-simple', S3StorageClass: 'STANDARD' });
    expect(props(source('hdfs-kerberos').destination).Subdirectory).toBe('raw/secure');
    expect(props(source('nfs').task)).toMatchObject({
      SourceLocationArn: { 'Fn::GetAtt': [idOf(source('nfs').location), 'LocationArn'] },
      DestinationLocationArn: { 'Fn::GetAtt': [idOf(source('nfs').destination), 'LocationArn'] },
      CloudWatchLogGroupArn: { 'Fn::GetAtt': [logicalIdOf(dataSources.logGroup), 'Arn'] },
    });
  });

  it('copies what changed, never deletes from the ingest bucket, and verifies what it copied', () => {
    expect(props(source('efs').task).Options).toEqual({
      TransferMode: 'CHANGED',
      OverwriteMode: 'ALWAYS',
      PreserveDeletedFiles: 'PRESERVE',
      VerifyMode: 'ONLY_FILES_TRANSFERRED',
      LogLevel: 'BASIC',
      TaskQueueing: 'ENABLED',
      BytesPerSecond: -1,
    });
  });

  it('runs a source on its schedule, and a source without one only when started', () => {
    expect(props(source('hdfs-simple').task).Schedule).toEqual({ ScheduleExpression: 'cron(0 2 * * ? *)', Status: 'ENABLED' });
    expect(props(source('nfs').task).Schedule).toEqual({ ScheduleExpression: 'rate(6 hours)', Status: 'ENABLED' });
    expect(props(source('efs').task).Schedule).toBeUndefined();
  });

  it('applies include and exclude filters and the bandwidth limit', () => {
    expect(props(source('hdfs-kerberos').task)).toMatchObject({
      Includes: [{ FilterType: 'SIMPLE_PATTERN', Value: '/part-*' }],
      Excludes: [{ FilterType: 'SIMPLE_PATTERN', Value: '*.tmp|/_SUCCESS' }],
      Options: { BytesPerSecond: 104857600 },
    });
  });

  it('reads HDFS as a simple user through the agents, with RPC and data protection off', () => {
    expect(props(source('hdfs-simple').location)).toEqual({
      NameNodes: [{ Hostname: 'namenode.corp.example', Port: 8020 }],
      Subdirectory: '/data/train',
      AgentArns: [AGENT],
      AuthenticationType: 'SIMPLE',
      SimpleUser: 'hdfs',
      QopConfiguration: { RpcProtection: 'DISABLED', DataTransferProtection: 'DISABLED' },
    });
  });

  it('reads Kerberized HDFS with the keytab from Secrets Manager through a secret-access role', () => {
    const { location, secretAccessRole } = source('hdfs-kerberos');
    expect(props(location)).toEqual({
      NameNodes: [{ Hostname: '10.0.0.5', Port: 8020 }],
      Subdirectory: '/secure',
      AgentArns: [AGENT],
      AuthenticationType: 'KERBEROS',
      KerberosPrincipal: 'datasync@CORP.EXAMPLE',
      KerberosKrb5Conf: KRB5,
      CustomSecretConfig: { SecretArn: KEYTAB, SecretAccessRoleArn: { 'Fn::GetAtt': [logicalIdOf(secretAccessRole!), 'Arn'] } },
      QopConfiguration: { RpcProtection: 'PRIVACY', DataTransferProtection: 'PRIVACY' },
    });
    expect(JSON.stringify(props(location))).not.toContain('KerberosKeytab');
    expect(resources[idOf(location)].DependsOn).toEqual(expect.arrayContaining([logicalIdOf(secretAccessRole!)]));
  });

  it('lets the secret-access role read that one secret and decrypt it only through Secrets Manager', () => {
    expect(policyOf(source('hdfs-kerberos').secretAccessRole!).Statement).toEqual([
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: KEYTAB },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: KMS_KEY,
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
      },
    ]);
    expect(policyOf(source('windows').secretAccessRole!).Statement).toEqual([{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: PASSWORD }]);
    expect(source('hdfs-simple').secretAccessRole).toBeUndefined();
  });

  it('reads NFS through the agents with the NFS version asked for', () => {
    expect(props(source('nfs').location)).toEqual({
      ServerHostname: 'filer.corp.example',
      Subdirectory: '/exports/datasets',
      OnPremConfig: { AgentArns: [AGENT] },
      MountOptions: { Version: 'NFS4_1' },
    });
  });

  it('mounts EFS from the given subnet and security groups over TLS', () => {
    expect(props(source('efs').location)).toEqual({
      EfsFilesystemArn: (SOURCES[3] as { fileSystemArn: string }).fileSystemArn,
      Ec2Config: { SubnetArn: (SOURCES[3] as { subnetArn: string }).subnetArn, SecurityGroupArns: [SG] },
      Subdirectory: '/datasets',
      InTransitEncryption: 'TLS1_2',
    });
  });

  it('reads FSx for Lustre, Windows (password from Secrets Manager), ONTAP (NFS 3) and OpenZFS', () => {
    expect(props(source('lustre').location)).toEqual({ FsxFilesystemArn: (SOURCES[4] as { fileSystemArn: string }).fileSystemArn, SecurityGroupArns: [SG], Subdirectory: '/scratch' });
    expect(props(source('windows').location)).toEqual({
      FsxFilesystemArn: (SOURCES[5] as { fileSystemArn: string }).fileSystemArn,
      SecurityGroupArns: [SG],
      Subdirectory: '/share',
      User: 'datasync',
      Domain: 'CORP',
      CustomSecretConfig: { SecretArn: PASSWORD, SecretAccessRoleArn: { 'Fn::GetAtt': [logicalIdOf(source('windows').secretAccessRole!), 'Arn'] } },
    });
    expect(JSON.stringify(props(source('windows').location))).not.toContain('Password');
    expect(props(source('ontap').location)).toMatchObject({ Subdirectory: '/vol1', Protocol: { NFS: { MountOptions: { Version: 'NFS3' } } } });
    expect(props(source('openzfs').location)).toMatchObject({ Subdirectory: '/fsx/datasets', Protocol: { NFS: { MountOptions: { Version: 'AUTOMATIC' } } } });
  });
});

describe('DataSources IAM', () => {
  it('lets only DataSync of this account assume the roles', () => {
    for (const role of [source('nfs').bucketAccessRole, source('hdfs-kerberos').secretAccessRole!]) {
      expect(props(role).AssumeRolePolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'datasync.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':datasync:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':*']] } },
          },
        },
      ]);
    }
  });

  it("limits each bucket-access role to the objects under its own source's prefix", () => {
    const statements = policyOf(source('hdfs-simple').bucketAccessRole).Statement;
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: bucketArn },
      {
        Effect: 'Allow',
        Action: expect.arrayContaining(['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts']),
        Resource: { 'Fn::Join': ['', [bucketArn, '/sources/hdfs-simple/*']] },
      },
    ]);
    expect(JSON.stringify(policyOf(source('hdfs-kerberos').bucketAccessRole))).toContain('/raw/secure/*');
    expect(JSON.stringify(statements)).not.toMatch(/"s3:\*"|"\*"/);
  });

  it('creates each location after the role DataSync must be able to assume for it', () => {
    expect(resources[idOf(source('efs').destination)].DependsOn).toEqual(expect.arrayContaining([logicalIdOf(source('efs').bucketAccessRole)]));
  });

  it('lets DataSync write its task logs, for tasks of this account only', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    const policy = JSON.parse(
      Object.values(template.findResources('AWS::Logs::ResourcePolicy'))[0]
        .Properties.PolicyDocument['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : 'X'))
        .join(''),
    );
    expect(policy.Statement[0]).toMatchObject({ Effect: 'Allow', Principal: { Service: 'datasync.amazonaws.com' }, Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] });
    expect(Object.keys(policy.Statement[0].Condition)).toEqual(['StringEquals', 'ArnLike']);
  });

  it('grantStart lets a starter start every task and follow its executions, nothing more', () => {
    const statements = policyOf(starter).Statement;
    const taskArns = SOURCES.map((s) => ({ 'Fn::GetAtt': [idOf(source(s.name).task), 'TaskArn'] }));
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['datasync:StartTaskExecution', 'datasync:DescribeTask'], Resource: taskArns },
      { Effect: 'Allow', Action: 'datasync:DescribeTaskExecution', Resource: taskArns.map((arn) => ({ 'Fn::Join': ['', [arn, '/execution/*']] })) },
    ]);
  });

  it('has no cdk-nag AwsSolutions finding left unacknowledged, on its resources or on the role it grants', () => {
    expect(nagFindings(stack, 'Test/DataSources')).toEqual([]);
    expect(nagFindings(stack, 'Test/Starter')).toEqual([]);
  });
});

describe('data source config', () => {
  const stage = (dataSources: DataSourceConfig[]) => ({ ...defaultStageConfig('dev'), dataSources });

  it('accepts every kind', () => {
    expect(validateStageConfig(stage(SOURCES)).dataSources).toHaveLength(SOURCES.length);
  });

  it.each([
    ['a name used twice', [SOURCES[2], SOURCES[2]], /name is used twice/],
    ['overlapping prefixes', [SOURCES[2], { ...SOURCES[3], prefix: 'sources/nfs/deeper' }], /overlaps the prefix of 'nfs'/],
    ['a schedule more often than hourly', [{ ...SOURCES[2], schedule: 'rate(30 minutes)' }], /more often than once an hour/],
    ['a cron on every minute', [{ ...SOURCES[2], schedule: 'cron(* * * * ? *)' }], /fixed minute/],
    ['no agent', [{ ...SOURCES[0], agentArns: [] }], /agentArns must list 1 to 4/],
    ['a NameNode port out of range', [{ ...SOURCES[0], nameNode: { host: 'nn', port: 0 } }], /nameNode.port/],
    ['a keytab that is not a secret', [{ ...SOURCES[1], authentication: { type: 'KERBEROS', principal: 'a@B', keytabSecretArn: 's3://bucket/keytab', krb5Conf: KRB5 } }], /keytabSecretArn/],
    ['an OpenZFS path outside /fsx', [{ ...SOURCES[7], path: '/data' }], /must begin with \/fsx/],
    ['a relative path', [{ ...SOURCES[2], path: 'exports' }], /must be absolute/],
    ['an unknown kind', [{ ...SOURCES[2], kind: 'ftp' } as unknown as DataSourceConfig], /kind must be one of/],
  ])('refuses %s', (_, sources, reason) => {
    expect(() => validateStageConfig(stage(sources as DataSourceConfig[]))).toThrow(reason);
  });

  it('is exported from the package', () => {
    expect(pkg.DataSources).toBe(DataSources);
    expect(typeof pkg.dataSourceErrors).toBe('function');
  });
});

describe('Shardline with data sources', () => {
  it('adds the DataSync resources when dataSources lists any, writing to its ingest bucket', () => {
    const withSources = new Shardline(bareStack(), 'Data', { stageName: 'test', dataSources: [SOURCES[2]] });
    const t = Template.fromStack(Stack.of(withSources));
    t.resourceCountIs('AWS::DataSync::Task', 1);
    t.hasResourceProperties('AWS::DataSync::LocationS3', { S3BucketArn: { 'Fn::GetAtt': [logicalIdOf(withSources.ingestBucket), 'Arn'] }, Subdirectory: 'sources/nfs' });
    expect(Object.keys(withSources.dataSources!.taskArns)).toEqual(['nfs']);
  });

  it('adds none by default', () => {
    const without = new Shardline(bareStack(), 'Data', { stageName: 'test' });
    expect(without.dataSources).toBeUndefined();
    Template.fromStack(Stack.of(without)).resourceCountIs('AWS::DataSync::Task', 0);
  });
});
