import { CfnResource, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as datasync from 'aws-cdk-lib/aws-datasync';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { dataSourcePrefix, type DataSourceConfig, type HdfsSourceConfig } from '../data-source-config';

/** What the DataSync sources need. */
export interface DataSourcesProps {
  /** The sources, validated (`validateStageConfig`). */
  readonly sources: readonly DataSourceConfig[];
  /** Where every source is copied, each under its own prefix; its ObjectCreated events start the pipeline. */
  readonly ingestBucket: s3.IBucket;
  /** Days DataSync's task logs are kept. */
  readonly logRetentionDays: number;
}

/** The DataSync resources of one source. */
export interface DataSourceResources {
  readonly task: datasync.CfnTask;
  /** The ingest-bucket location DataSync writes to (the source's prefix). */
  readonly destination: datasync.CfnLocationS3;
  /** The HDFS, NFS, EFS or FSx location DataSync reads. */
  readonly location: CfnResource;
  /** The role DataSync assumes to write the source's prefix of the ingest bucket, and nothing else. */
  readonly bucketAccessRole: iam.Role;
  /** The role DataSync assumes to read the source's secret (Kerberos keytab, FSx for Windows password), when it has one. */
  readonly secretAccessRole?: iam.Role;
}

// The S3 actions DataSync needs on a destination bucket (DataSync user guide, "Providing DataSync access to S3 buckets").
const BUCKET_ACTIONS = ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'];
const OBJECT_ACTIONS = [
  's3:AbortMultipartUpload',
  's3:DeleteObject',
  's3:GetObject',
  's3:GetObjectTagging',
  's3:GetObjectVersion',
  's3:GetObjectVersionTagging',
  's3:ListMultipartUploadParts',
  's3:PutObject',
  's3:PutObjectTagging',
];

/**
 * AWS DataSync locations and tasks that copy HDFS, NFS, EFS and FSx sources into the ingest
 * bucket, each source under its own prefix, on its schedule or when started; the ingest bucket's
 * S3 events take over from there. Each source has its own bucket-access role limited to its
 * prefix; a secret (Kerberos keytab, FSx for Windows password) is read by DataSync through a role
 * limited to that secret. `taskArns` and `grantStart()` are what a starter (the run state
 * machine) needs.
 */
export class DataSources extends Construct {
  /** The DataSync task of each source, by source name. */
  public readonly taskArns: Readonly<Record<string, string>>;
  /** Every resource of each source, by source name. */
  public readonly sources: Readonly<Record<string, DataSourceResources>>;
  /** DataSync's task logs (a resource policy lets DataSync write them). */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DataSourcesProps) {
    super(scope, id);
    const { account, region, partition } = Stack.of(this);
    this.logGroup = new logs.LogGroup(this, 'TaskLogs', { retention: props.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    this.logGroup.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('datasync.amazonaws.com')],
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account }, ArnLike: { 'aws:SourceArn': `arn:${partition}:datasync:${region}:${account}:task/*` } },
      }),
    );

    const sources: Record<string, DataSourceResources> = {};
    for (const source of props.sources) sources[source.name] = this.addSource(source, props.ingestBucket);
    this.sources = sources;
    this.taskArns = Object.fromEntries(Object.entries(sources).map(([name, s]) => [name, s.task.attrTaskArn]));
  }

  /**
   * Lets `grantee` start every source's task and follow its executions (`datasync:StartTaskExecution`,
   * `DescribeTask`, `DescribeTaskExecution`), and acknowledges on `grantee` the one wildcard this
   * leaves (the execution ids of these tasks, unknown until they run).
   */
  public grantStart(grantee: iam.IGrantable): iam.Grant {
    const tasks = Object.values(this.taskArns);
    const scope = Construct.isConstruct(grantee) ? grantee : Construct.isConstruct(grantee.grantPrincipal) ? grantee.grantPrincipal : undefined;
    for (const { task } of scope ? Object.values(this.sources) : []) {
      Validations.of(scope!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(task).getLogicalId(task)}.TaskArn>/execution/*]`,
        reason: 'DescribeTaskExecution on the executions of one shardline DataSync task; execution ids exist only once the task runs.',
      });
    }
    return iam.Grant.addToPrincipal({ grantee, actions: ['datasync:StartTaskExecution', 'datasync:DescribeTask'], resourceArns: tasks }).combine(
      iam.Grant.addToPrincipal({ grantee, actions: ['datasync:DescribeTaskExecution'], resourceArns: tasks.map((arn) => `${arn}/execution/*`) }),
    );
  }

  private addSource(source: DataSourceConfig, bucket: s3.IBucket): DataSourceResources {
    const id = source.name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
    const scope = new Construct(this, id);
    const prefix = dataSourcePrefix(source);
    const bucketAccessRole = new iam.Role(scope, 'BucketAccessRole', {
      assumedBy: this.dataSyncPrincipal(),
      description: `DataSync writes source ${source.name} to ${prefix}/ of the ingest bucket`,
    });
    bucketAccessRole.addToPolicy(new iam.PolicyStatement({ actions: BUCKET_ACTIONS, resources: [bucket.bucketArn] }));
    bucketAccessRole.addToPolicy(new iam.PolicyStatement({ actions: OBJECT_ACTIONS, resources: [`${bucket.bucketArn}/${prefix}/*`] }));
    acknowledgeObjectWildcard(bucketAccessRole, bucket, prefix);

    const destination = new datasync.CfnLocationS3(scope, 'Destination', {
      s3BucketArn: bucket.bucketArn,
      s3Config: { bucketAccessRoleArn: bucketAccessRole.roleArn },
      subdirectory: prefix,
      s3StorageClass: 'STANDARD',
    });
    // DataSync checks that it can assume the role when the location is created.
    destination.node.addDependency(bucketAccessRole);

    const secret = secretOf(source);
    const secretAccessRole = secret ? this.secretAccessRole(scope, secret) : undefined;
    const location = this.sourceLocation(scope, source, secretAccessRole);
    if (secretAccessRole) location.node.addDependency(secretAccessRole);

    const filters = (patterns: readonly string[] | undefined) => (patterns?.length ? [{ filterType: 'SIMPLE_PATTERN', value: patterns.join('|') }] : undefined);
    const task = new datasync.CfnTask(scope, 'Task', {
      name: `${Stack.of(this).stackName}-${source.name}`.slice(0, 256),
      sourceLocationArn: location.getAtt('LocationArn').toString(),
      destinationLocationArn: destination.attrLocationArn,
      cloudWatchLogGroupArn: this.logGroup.logGroupArn,
      includes: filters(source.include),
      excludes: filters(source.exclude),
      schedule: source.schedule ? { scheduleExpression: source.schedule, status: 'ENABLED' } : undefined,
      options: {
        // Only what changed is copied; nothing is deleted from the ingest bucket (a removed file's data stays processed).
        transferMode: 'CHANGED',
        overwriteMode: 'ALWAYS',
        preserveDeletedFiles: 'PRESERVE',
        verifyMode: 'ONLY_FILES_TRANSFERRED',
        logLevel: 'BASIC',
        taskQueueing: 'ENABLED',
        bytesPerSecond: source.bytesPerSecond ?? -1,
      },
      tags: [{ key: 'shardline:source', value: source.name }],
    });
    task.node.addDependency(this.logGroup);
    return { task, destination, location, bucketAccessRole, secretAccessRole };
  }

  /** DataSync, acting for this account's DataSync resources only (confused-deputy conditions). */
  private dataSyncPrincipal(): iam.IPrincipal {
    const { account, region, partition } = Stack.of(this);
    return new iam.ServicePrincipal('datasync.amazonaws.com').withConditions({
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': `arn:${partition}:datasync:${region}:${account}:*` },
    });
  }

  /** A role DataSync assumes to read one Secrets Manager secret (a customer managed secret, `CustomSecretConfig`). */
  private secretAccessRole(scope: Construct, secret: { arn: string; kmsKeyArn?: string }): iam.Role {
    const role = new iam.Role(scope, 'SecretAccessRole', { assumedBy: this.dataSyncPrincipal(), description: 'DataSync reads the credentials of one data source' });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: [secret.arn] }));
    if (secret.kmsKeyArn) {
      const { region } = Stack.of(this);
      role.addToPolicy(
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [secret.kmsKeyArn], conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } } }),
      );
    }
    return role;
  }

  /** The location DataSync reads, by kind. */
  private sourceLocation(scope: Construct, source: DataSourceConfig, secretRole: iam.Role | undefined): CfnResource {
    const customSecretConfig = (arn: string) => ({ secretArn: arn, secretAccessRoleArn: secretRole!.roleArn });
    switch (source.kind) {
      case 'hdfs':
        return new datasync.CfnLocationHDFS(scope, 'Source', hdfsLocationProps(source, secretRole));
      case 'nfs':
        return new datasync.CfnLocationNFS(scope, 'Source', {
          serverHostname: source.server,
          subdirectory: source.path,
          onPremConfig: { agentArns: [...source.agentArns] },
          mountOptions: { version: source.nfsVersion ?? 'AUTOMATIC' },
        });
      case 'efs':
        return new datasync.CfnLocationEFS(scope, 'Source', {
          efsFilesystemArn: source.fileSystemArn,
          ec2Config: { subnetArn: source.subnetArn, securityGroupArns: [...source.securityGroupArns] },
          subdirectory: source.path ?? '/',
          accessPointArn: source.accessPointArn,
          inTransitEncryption: 'TLS1_2',
        });
      case 'fsx-lustre':
        return new datasync.CfnLocationFSxLustre(scope, 'Source', { fsxFilesystemArn: source.fileSystemArn, securityGroupArns: [...source.securityGroupArns], subdirectory: source.path ?? '/' });
      case 'fsx-windows':
        return new datasync.CfnLocationFSxWindows(scope, 'Source', {
          fsxFilesystemArn: source.fileSystemArn,
          securityGroupArns: [...source.securityGroupArns],
          subdirectory: source.path ?? '/',
          user: source.user,
          domain: source.domain,
          customSecretConfig: customSecretConfig(source.passwordSecretArn),
        });
      case 'fsx-ontap':
        return new datasync.CfnLocationFSxONTAP(scope, 'Source', {
          storageVirtualMachineArn: source.storageVirtualMachineArn,
          securityGroupArns: [...source.securityGroupArns],
          subdirectory: source.path,
          // DataSync reads ONTAP over NFS version 3 only.
          protocol: { nfs: { mountOptions: { version: 'NFS3' } } },
        });
      case 'fsx-openzfs':
        return new datasync.CfnLocationFSxOpenZFS(scope, 'Source', {
          fsxFilesystemArn: source.fileSystemArn,
          securityGroupArns: [...source.securityGroupArns],
          subdirectory: source.path,
          protocol: { nfs: { mountOptions: { version: 'AUTOMATIC' } } },
        });
    }
  }
}

/** HDFS: the NameNode, the agents, and SIMPLE (a user) or KERBEROS (principal, keytab from Secrets Manager, krb5.conf). */
function hdfsLocationProps(source: HdfsSourceConfig, secretRole: iam.Role | undefined): datasync.CfnLocationHDFSProps {
  const auth = source.authentication;
  // DataSync assumes PRIVACY when no protection is given, which a cluster without Kerberos never speaks.
  const rpcProtection = source.rpcProtection ?? (auth.type === 'SIMPLE' ? 'DISABLED' : undefined);
  const dataTransferProtection = source.dataTransferProtection ?? rpcProtection;
  const common = {
    nameNodes: [{ hostname: source.nameNode.host, port: source.nameNode.port }],
    subdirectory: source.path,
    agentArns: [...source.agentArns],
    kmsKeyProviderUri: source.kmsKeyProviderUri,
    qopConfiguration: rpcProtection ? { rpcProtection, dataTransferProtection } : undefined,
  };
  if (auth.type === 'SIMPLE') return { ...common, authenticationType: 'SIMPLE', simpleUser: auth.user };
  return {
    ...common,
    authenticationType: 'KERBEROS',
    kerberosPrincipal: auth.principal,
    kerberosKrb5Conf: auth.krb5Conf,
    customSecretConfig: { secretArn: auth.keytabSecretArn, secretAccessRoleArn: secretRole!.roleArn },
  };
}

/** The secret a source's credentials are in, if any. */
function secretOf(source: DataSourceConfig): { arn: string; kmsKeyArn?: string } | undefined {
  if (source.kind === 'hdfs' && source.authentication.type === 'KERBEROS') return { arn: source.authentication.keytabSecretArn, kmsKeyArn: source.authentication.keytabKmsKeyArn };
  if (source.kind === 'fsx-windows') return { arn: source.passwordSecretArn, kmsKeyArn: source.passwordKmsKeyArn };
  return undefined;
}

/** The one wildcard of a bucket-access role: the objects under the source's own prefix. */
function acknowledgeObjectWildcard(role: iam.Role, bucket: s3.IBucket, prefix: string): void {
  const resource = bucket.node.defaultChild;
  const arn = CfnResource.isCfnResource(resource) ? `<${Stack.of(bucket).getLogicalId(resource)}.Arn>` : bucket.bucketArn;
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${arn}/${prefix}/*]`,
    reason: `DataSync writes the files of this source as objects under ${prefix}/ of the ingest bucket, whose names are only known as they are copied; no other key is allowed.`,
  });
}
