/**
 * Data sources outside S3 that AWS DataSync copies into the ingest bucket, each under its own
 * prefix, so the ingest bucket's S3 events take over from there (see docs/sources.md).
 */

/** What every data source has, whatever its kind. */
export interface DataSourceCommon {
  /** Lowercase letters, digits and dashes: the key of the source in `DataSources.taskArns`, and `{"source": "<name>"}` to start it. */
  readonly name: string;
  /** Key prefix in the ingest bucket the source is copied under (no leading `/`). @default `sources/<name>` */
  readonly prefix?: string;
  /**
   * When DataSync runs the copy on its own: an EventBridge `cron(...)` or `rate(...)` expression,
   * at most once an hour (a DataSync limit). @default none: the copy runs only when started
   */
  readonly schedule?: string;
  /** Only these paths, DataSync SIMPLE_PATTERN filters relative to the source path (e.g. `/train`, `*.jsonl`). @default everything */
  readonly include?: readonly string[];
  /** Leave out these paths (DataSync SIMPLE_PATTERN filters, e.g. `*.tmp`, `/_SUCCESS`). @default nothing */
  readonly exclude?: readonly string[];
  /** Bandwidth limit of the copy in bytes per second. @default no limit */
  readonly bytesPerSecond?: number;
}

/** DataSync protection levels; they must match `hadoop.rpc.protection` and `dfs.data.transfer.protection` of the cluster. */
export type HdfsProtection = 'DISABLED' | 'AUTHENTICATION' | 'INTEGRITY' | 'PRIVACY';

/** HDFS with simple authentication: DataSync acts as `user`. */
export interface HdfsSimpleAuth {
  readonly type: 'SIMPLE';
  /** The HDFS user DataSync reads as. */
  readonly user: string;
}

/** HDFS with Kerberos: the keytab in Secrets Manager (binary), read by DataSync through a role of its own. */
export interface HdfsKerberosAuth {
  readonly type: 'KERBEROS';
  /** Principal with read access to the path, e.g. `datasync@EXAMPLE.COM`. */
  readonly principal: string;
  /** ARN of a Secrets Manager secret whose SecretBinary is the keytab file (`aws secretsmanager create-secret --secret-binary fileb://datasync.keytab`). */
  readonly keytabSecretArn: string;
  /** ARN of the KMS key that encrypts the keytab secret, when it is a customer managed key. @default the AWS managed key of Secrets Manager */
  readonly keytabKmsKeyArn?: string;
  /** Contents of `krb5.conf` (not a secret: realms and KDC addresses), e.g. `readFileSync('krb5.conf', 'utf8')`. */
  readonly krb5Conf: string;
}

/** A Hadoop cluster read by DataSync agents running next to it. */
export interface HdfsSourceConfig extends DataSourceCommon {
  readonly kind: 'hdfs';
  /** The NameNode's RPC address (`fs.defaultFS`), e.g. `{ host: 'namenode.corp', port: 8020 }`. */
  readonly nameNode: { readonly host: string; readonly port: number };
  /** Absolute HDFS path to copy, e.g. `/data/train`. */
  readonly path: string;
  /** ARNs of activated DataSync agents that reach the NameNode and the DataNodes. */
  readonly agentArns: readonly string[];
  readonly authentication: HdfsSimpleAuth | HdfsKerberosAuth;
  /** `hadoop.rpc.protection` of the cluster. @default 'DISABLED' with SIMPLE, 'PRIVACY' (the DataSync default) with KERBEROS */
  readonly rpcProtection?: HdfsProtection;
  /** `dfs.data.transfer.protection` of the cluster. @default as `rpcProtection` */
  readonly dataTransferProtection?: HdfsProtection;
  /** Hadoop KMS URI for encryption zones, e.g. `kms://http@kms.corp:9600/kms`. @default none */
  readonly kmsKeyProviderUri?: string;
}

/** An NFS export read by DataSync agents. */
export interface NfsSourceConfig extends DataSourceCommon {
  readonly kind: 'nfs';
  /** DNS name or IP address of the NFS server. */
  readonly server: string;
  /** Exported path (or a folder below it), e.g. `/exports/datasets`. */
  readonly path: string;
  readonly agentArns: readonly string[];
  /** @default 'AUTOMATIC' */
  readonly nfsVersion?: 'AUTOMATIC' | 'NFS3' | 'NFS4_0' | 'NFS4_1';
}

/** An Amazon EFS file system: DataSync mounts it from a subnet of its VPC, over TLS; no agent. */
export interface EfsSourceConfig extends DataSourceCommon {
  readonly kind: 'efs';
  readonly fileSystemArn: string;
  /** A subnet in the file system's VPC, in the Availability Zone of one of its mount targets. */
  readonly subnetArn: string;
  /** Security groups that a mount target accepts NFS (TCP 2049) from. */
  readonly securityGroupArns: readonly string[];
  /** @default '/' */
  readonly path?: string;
  /** Mount through this access point. @default none */
  readonly accessPointArn?: string;
}

/** FSx file systems DataSync reaches in their VPC, without an agent. */
interface FsxSourceCommon extends DataSourceCommon {
  /** Security groups that let DataSync reach the file system's ports. */
  readonly securityGroupArns: readonly string[];
}

/** Amazon FSx for Lustre. */
export interface FsxLustreSourceConfig extends FsxSourceCommon {
  readonly kind: 'fsx-lustre';
  readonly fileSystemArn: string;
  /** @default '/' */
  readonly path?: string;
}

/** Amazon FSx for Windows File Server (SMB): the user's password in Secrets Manager. */
export interface FsxWindowsSourceConfig extends FsxSourceCommon {
  readonly kind: 'fsx-windows';
  readonly fileSystemArn: string;
  /** Share and folder, e.g. `/share/datasets`. @default '/' */
  readonly path?: string;
  /** A user allowed to read the files (see the DataSync guide on FSx for Windows users). */
  readonly user: string;
  /** Active Directory domain of the user. @default none */
  readonly domain?: string;
  /** ARN of a Secrets Manager secret whose SecretString is the user's password. */
  readonly passwordSecretArn: string;
  /** ARN of the KMS key that encrypts the password secret, when it is a customer managed key. @default the AWS managed key */
  readonly passwordKmsKeyArn?: string;
}

/** Amazon FSx for NetApp ONTAP, read over NFS from a storage virtual machine. */
export interface FsxOntapSourceConfig extends FsxSourceCommon {
  readonly kind: 'fsx-ontap';
  readonly storageVirtualMachineArn: string;
  /** Junction path (or qtree), e.g. `/vol1`. */
  readonly path: string;
}

/** Amazon FSx for OpenZFS, read over NFS. */
export interface FsxOpenZfsSourceConfig extends FsxSourceCommon {
  readonly kind: 'fsx-openzfs';
  readonly fileSystemArn: string;
  /** A path that begins with `/fsx`, e.g. `/fsx/datasets`. */
  readonly path: string;
}

/** One source DataSync copies into the ingest bucket. */
export type DataSourceConfig = HdfsSourceConfig | NfsSourceConfig | EfsSourceConfig | FsxLustreSourceConfig | FsxWindowsSourceConfig | FsxOntapSourceConfig | FsxOpenZfsSourceConfig;

/** Every kind of data source. */
export const DATA_SOURCE_KINDS = ['hdfs', 'nfs', 'efs', 'fsx-lustre', 'fsx-windows', 'fsx-ontap', 'fsx-openzfs'] as const satisfies readonly DataSourceConfig['kind'][];

/** The ingest-bucket prefix a source is copied under: no leading or trailing `/`. */
export function dataSourcePrefix(source: DataSourceConfig): string {
  return (source.prefix ?? `sources/${source.name}`).replace(/^\/+|\/+$/g, '');
}

const ARN = (service: string, resource: string) => new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:${resource}$`);
const AGENT_ARN = ARN('datasync', 'agent/agent-[0-9a-z]{17}');
const SECURITY_GROUP_ARN = ARN('ec2', 'security-group/sg-[0-9a-f]+');
const SECRET_ARN = ARN('secretsmanager', 'secret:[A-Za-z0-9/_+=.@-]+');
const KMS_KEY_ARN = ARN('kms', 'key/[0-9a-f-]+');
const PROTECTIONS: readonly string[] = ['DISABLED', 'AUTHENTICATION', 'INTEGRITY', 'PRIVACY'];

/** What is wrong with the data sources of a stage config (empty when nothing is). */
export function dataSourceErrors(sources: readonly DataSourceConfig[]): string[] {
  const errors: string[] = [];
  const prefixes = new Map<string, string>();
  for (const source of sources) {
    const at = `dataSources '${source.name}'`;
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(source.name)) errors.push(`${at}: name must be 1-40 lowercase letters, digits, dashes`);
    if (sources.filter((s) => s.name === source.name).length > 1) errors.push(`${at}: name is used twice`);
    if (!(DATA_SOURCE_KINDS as readonly string[]).includes(source.kind)) {
      errors.push(`${at}: kind must be one of ${DATA_SOURCE_KINDS.join(', ')}`);
      continue;
    }
    const prefix = dataSourcePrefix(source);
    // DataSync refuses S3 prefixes with `//`, `/./` or `/../`; overlapping prefixes would let one source's copy overwrite another's.
    if (prefix === '' || !/^[A-Za-z0-9_.=+-]+(\/[A-Za-z0-9_.=+-]+)*$/.test(prefix) || /(^|\/)\.\.?(\/|$)/.test(prefix))
      errors.push(`${at}: prefix '${prefix}' must be a key prefix like sources/${source.name}`);
    for (const [other, otherName] of prefixes) {
      if (prefix === other || prefix.startsWith(`${other}/`) || other.startsWith(`${prefix}/`)) errors.push(`${at}: prefix '${prefix}' overlaps the prefix of '${otherName}'`);
    }
    prefixes.set(prefix, source.name);
    errors.push(...scheduleErrors(source.schedule).map((e) => `${at}: ${e}`));
    if (source.bytesPerSecond !== undefined && !(Number.isInteger(source.bytesPerSecond) && source.bytesPerSecond >= 1048576))
      errors.push(`${at}: bytesPerSecond must be a whole number of at least 1048576`);
    for (const filter of [...(source.include ?? []), ...(source.exclude ?? [])])
      if (filter === '' || filter.includes('|')) errors.push(`${at}: filter '${filter}' must be one non-empty pattern without '|'`);
    errors.push(...kindErrors(source).map((e) => `${at}: ${e}`));
  }
  return errors;
}

/** DataSync runs a scheduled task at most once an hour. */
function scheduleErrors(schedule: string | undefined): string[] {
  if (schedule === undefined) return [];
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule);
  if (rate) {
    const minutes = Number(rate[1]) * (rate[2].startsWith('minute') ? 1 : rate[2].startsWith('hour') ? 60 : 1440);
    return minutes >= 60 ? [] : [`schedule '${schedule}' runs more often than once an hour, which DataSync refuses`];
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(schedule);
  if (!cron) return [`schedule '${schedule}' must be cron(minutes hours day-of-month month day-of-week year) or rate(n hours)`];
  return /^\d+$/.test(cron[1]) ? [] : [`schedule '${schedule}' must run at a fixed minute (at most once an hour)`];
}

/** The kind-specific settings. */
function kindErrors(source: DataSourceConfig): string[] {
  const errors: string[] = [];
  const agents = (arns: readonly string[]) => {
    if (arns.length === 0 || arns.length > 4) errors.push('agentArns must list 1 to 4 DataSync agent ARNs');
    for (const arn of arns) if (!AGENT_ARN.test(arn)) errors.push(`'${arn}' is not a DataSync agent ARN`);
  };
  const arn = (what: string, value: string | undefined, pattern: RegExp) => {
    if (value !== undefined && !pattern.test(value)) errors.push(`${what} '${value}' is not such an ARN`);
  };
  const absolute = (path: string | undefined) => {
    if (path !== undefined && !/^\/[^\0]*$/.test(path)) errors.push(`path '${path}' must be absolute`);
  };
  const securityGroups = (arns: readonly string[]) => {
    if (arns.length === 0 || arns.length > 5) errors.push('securityGroupArns must list 1 to 5 security group ARNs');
    for (const sg of arns) arn('securityGroupArns', sg, SECURITY_GROUP_ARN);
  };
  switch (source.kind) {
    case 'hdfs': {
      agents(source.agentArns);
      absolute(source.path);
      if (!/^[A-Za-z0-9.-]+$/.test(source.nameNode.host)) errors.push(`nameNode.host '${source.nameNode.host}' must be a host name or IP address`);
      if (!Number.isInteger(source.nameNode.port) || source.nameNode.port < 1 || source.nameNode.port > 65535) errors.push('nameNode.port must be 1..65535 (the RPC port, usually 8020)');
      for (const p of [source.rpcProtection, source.dataTransferProtection]) if (p !== undefined && !PROTECTIONS.includes(p)) errors.push(`protection '${p}' must be one of ${PROTECTIONS.join(', ')}`);
      const auth = source.authentication;
      if (auth.type === 'SIMPLE') {
        if (!auth.user) errors.push('authentication.user is required with SIMPLE');
      } else if (auth.type === 'KERBEROS') {
        if (!auth.principal.includes('@')) errors.push(`authentication.principal '${auth.principal}' must be a Kerberos principal like user@REALM`);
        arn('authentication.keytabSecretArn', auth.keytabSecretArn, SECRET_ARN);
        arn('authentication.keytabKmsKeyArn', auth.keytabKmsKeyArn, KMS_KEY_ARN);
        if (!auth.krb5Conf.includes('[libdefaults]') && !auth.krb5Conf.includes('[realms]')) errors.push('authentication.krb5Conf must be the contents of krb5.conf');
      } else errors.push("authentication.type must be 'SIMPLE' or 'KERBEROS'");
      break;
    }
    case 'nfs':
      agents(source.agentArns);
      absolute(source.path);
      if (!/^[A-Za-z0-9.:-]+$/.test(source.server)) errors.push(`server '${source.server}' must be a host name or IP address`);
      break;
    case 'efs':
      arn('fileSystemArn', source.fileSystemArn, ARN('elasticfilesystem', 'file-system/fs-[0-9a-f]+'));
      arn('subnetArn', source.subnetArn, ARN('ec2', 'subnet/subnet-[0-9a-f]+'));
      arn('accessPointArn', source.accessPointArn, ARN('elasticfilesystem', 'access-point/fsap-[0-9a-f]+'));
      securityGroups(source.securityGroupArns);
      absolute(source.path);
      break;
    case 'fsx-lustre':
    case 'fsx-windows':
    case 'fsx-openzfs':
      arn('fileSystemArn', source.fileSystemArn, ARN('fsx', 'file-system/fs-[0-9a-f]+'));
      securityGroups(source.securityGroupArns);
      absolute(source.path);
      if (source.kind === 'fsx-openzfs' && !/^\/fsx(\/|$)/.test(source.path)) errors.push(`path '${source.path}' must begin with /fsx`);
      if (source.kind === 'fsx-windows') {
        if (!source.user) errors.push('user is required');
        arn('passwordSecretArn', source.passwordSecretArn, SECRET_ARN);
        arn('passwordKmsKeyArn', source.passwordKmsKeyArn, KMS_KEY_ARN);
      }
      break;
    case 'fsx-ontap':
      arn('storageVirtualMachineArn', source.storageVirtualMachineArn, ARN('fsx', 'storage-virtual-machine/fs-[0-9a-f]+/svm-[0-9a-f]+'));
      securityGroups(source.securityGroupArns);
      absolute(source.path);
      break;
  }
  return errors;
}
