/**
 * Every `shardline` command in one place: its name, description, arguments and options, and the
 * module under `cli/commands/` that carries it out. `main.ts` builds the CLI from this list and
 * requires a command's module only when that command runs, so `shardline --help` and each command
 * load nothing but their own code (after the aws-cdk CLI's `cli-config.ts` + `lib/commands/*`).
 * Keep this file's imports light: constants and parsers only, never an SDK client or aws-cdk-lib.
 */
import { Argument, Option } from 'commander';
import { checkIndex, checkJobName } from '../lib/checkpoint/layout';
import { CONTROL_ACTIONS } from '../lib/control/control-actions';
import { checkDatasetName } from '../lib/dataset/index-format';
import { DEFAULT_LIMIT } from '../lib/logs/query';
import { DEFAULT_DASHBOARD_PORT } from '../lib/observability/dashboard/default-port';
import { INSTANCE_TYPES } from '../lib/ops/capacity/aws-limits';
import { PLAN_DEFAULTS } from '../lib/ops/capacity/plan-input';
import { parseDuration, parseInterval, parseRate, parseSize, parseWindow } from '../lib/units';
import { CLOUDWATCH_DEFAULT_SINCE, countArg, numberArg, portArg, stackOption, stateDirOption, usage } from './options';

/**
 * The modules under `cli/commands/`, for the compiler only (a type import loads nothing), so a
 * declaration can name only a handler that exists.
 */
interface CommandModules {
  chaos: typeof import('./commands/chaos');
  checkpoints: typeof import('./commands/checkpoints');
  control: typeof import('./commands/control');
  dataset: typeof import('./commands/dataset');
  demo: typeof import('./commands/demo');
  doctor: typeof import('./commands/doctor');
  ingest: typeof import('./commands/ingest');
  'local-up': typeof import('./commands/local-up');
  logs: typeof import('./commands/logs');
  plan: typeof import('./commands/plan');
  redrive: typeof import('./commands/redrive');
  simulate: typeof import('./commands/simulate');
  status: typeof import('./commands/status');
}

/** A function exported by a command module. */
type HandlerOf<M> = { [K in keyof M]: M[K] extends (...args: never[]) => Promise<void> ? K : never }[keyof M] & string;

/** Where a command's code is: the module under `cli/commands/` and the function called with the parsed arguments, then the options. */
type CommandCode = { [M in keyof CommandModules]: { readonly module: M; readonly handler: HandlerOf<CommandModules[M]> } }[keyof CommandModules];

/** A command of the CLI (its module is required only when it runs), or a group of subcommands (no module). */
export type CommandDeclaration = {
  /** The words after `shardline`, e.g. `status` or `local up` (a group is declared before its subcommands). */
  readonly name: string;
  readonly description: string;
  readonly arguments?: readonly Argument[];
  readonly options?: readonly Option[];
} & (CommandCode | { readonly module?: undefined; readonly handler?: undefined });

/** `--job`: a checkpoint job's name. */
const jobOption = () => new Option('--job <job>', "the training job's name (Checkpointer(job=...))").argParser(usage(checkJobName)).makeOptionMandatory();
/** `--step`: a checkpoint step (0 or more). */
const stepOption = (what: string) => new Option('--step <n>', what).argParser(usage((v) => checkIndex('step', /^\d+$/.test(v) ? Number(v) : NaN)));

export const PROGRAM_DESCRIPTION = 'Move ML training data from S3 to GPU training hosts';

export const COMMANDS: readonly CommandDeclaration[] = [
  { name: 'local', description: 'run the whole pipeline locally against an AWS emulator' },
  {
    name: 'local up',
    description: 'start the emulator (or use --endpoint), provision the stack, run the chunker and N agents',
    options: [
      new Option('--agents <n>', 'agent processes (nodes) to start').default(3).argParser(countArg),
      new Option('--endpoint <url>', 'use this AWS endpoint (e.g. LocalStack http://127.0.0.1:4566) instead of starting moto'),
      new Option('--config <file>', 'pipeline config JSON (validated; defaults fill the rest)'),
      new Option('--slow-ms <ms>', 'fault injection: extra milliseconds of work per chunk in every agent (a slow transform)').argParser(Number),
      new Option('--dashboard-port <n>', 'port of the live web dashboard (0 = a free one)').default(DEFAULT_DASHBOARD_PORT).argParser(portArg),
      stateDirOption(),
    ],
    module: 'local-up',
    handler: 'localUp',
  },
  {
    name: 'local chaos',
    description: 'fault injection while data flows: SIGKILL / SIGSTOP / SIGTERM agents, start new ones, and report detection, recovery, replica moves and accounting',
    options: [
      new Option('--agents <n>', 'agent processes').default(6).argParser(countArg),
      new Option('--kill <n>', 'agents to SIGKILL during the run').default(2).argParser(Number),
      new Option('--pause <n>', 'agents to SIGSTOP, then SIGCONT after --pause-ms').default(0).argParser(Number),
      new Option('--pause-ms <ms>', 'how long a paused agent stays stopped').default(8000).argParser(Number),
      new Option('--leave <n>', 'agents to SIGTERM during the run (clean leave): reports the time back to R').default(0).argParser(Number),
      new Option('--join <n>', 'new agents to start during the run: reports shards moved against the minimum').default(0).argParser(Number),
      new Option('--restart-after-ms <ms>', 'restart killed agents after this long').argParser(Number),
      new Option('--slow-ms <ms>', 'extra work per chunk in every agent (makes pauses land mid-chunk)').argParser(Number),
      new Option('--size <size>', 'dataset size').default('6MB'),
      new Option('--chunk-size <size>', 'chunk size').default('128KiB'),
      new Option('--endpoint <url>', 'use this AWS endpoint instead of starting moto'),
      stateDirOption(),
    ],
    module: 'chaos',
    handler: 'chaos',
  },
  {
    name: 'ingest',
    description: 'copy a local file or folder, s3://bucket/prefix or an HDFS path (over WebHDFS) into the ingest bucket',
    arguments: [new Argument('<source>', 'local file, local folder, s3://bucket/prefix, hdfs://namenode:8020/path or webhdfs://namenode:9870/path')],
    options: [
      new Option('--prefix <prefix>', 'key prefix in the ingest bucket').default(''),
      new Option('--hdfs-user <user>', 'HDFS user (simple authentication) for hdfs:// and webhdfs:// sources').env('HADOOP_USER_NAME'),
      new Option('--webhdfs-port <port>', 'NameNode HTTP port for hdfs:// sources (the port in an hdfs:// url is the RPC port)').default(9870).argParser(portArg),
      stackOption(),
      stateDirOption(),
    ],
    module: 'ingest',
    handler: 'ingestCommand',
  },
  {
    name: 'status',
    description: "each object's progress and counts from the ledger, and the nodes",
    options: [
      new Option('--json', 'print JSON'),
      new Option('--watch', 'live view, redrawn every --interval until Ctrl-C'),
      new Option('--interval <duration>', 'refresh interval of --watch (e.g. 1s, 500ms)').default(1000, '1s').argParser(usage(parseInterval)),
      stackOption(),
      stateDirOption(),
    ],
    module: 'status',
    handler: 'status',
  },
  {
    name: 'redrive',
    description: 'after a fix: send dead-lettered work back and release quarantined objects (or the ingest DLQ → ingest-events)',
    options: [
      new Option('--queue <which>', 'which dead-letter queue').choices(['work', 'ingest']).default('work'),
      new Option('--object <id...>', 'release only these quarantined objects, from the ledger (the DLQ is left as it is)'),
      stackOption(),
      stateDirOption(),
    ],
    module: 'redrive',
    handler: 'redriveCommand',
  },
  {
    name: 'demo',
    description: 'one command: local up, generate a JSON Lines dataset, ingest, verify, summarize, shut down',
    options: [
      new Option('--size <size>', 'dataset size, e.g. 20MB, 1GB').default('24MB'),
      new Option('--agents <n>', 'agent processes').default(3).argParser(countArg),
      new Option('--endpoint <url>', 'use this AWS endpoint instead of starting moto'),
      stateDirOption(),
    ],
    module: 'demo',
    handler: 'demo',
  },
  {
    name: 'control',
    description: 'pause, resume, drain, stop or emergency-stop the pipeline (runs the control state machine and waits)',
    arguments: [new Argument('<action>', 'what to do').choices([...CONTROL_ACTIONS, 'history'])],
    options: [
      new Option('--reason <text>', 'why (recorded with who and when)'),
      new Option('--no-wait', 'start the execution and return'),
      new Option('--json', 'print JSON'),
      stackOption(),
      stateDirOption(),
    ],
    module: 'control',
    handler: 'control',
  },
  {
    name: 'run',
    description: 'process every object already under s3://bucket/prefix (runs the run state machine and waits for the run manifest)',
    arguments: [new Argument('<source>', 's3://bucket/prefix, or a prefix of the ingest bucket')],
    options: [
      new Option('--index <name>', 'when the run completes, build dataset index NAME from its objects (see shardline dataset index)').argParser(usage(checkDatasetName)),
      new Option('--no-wait', 'start the execution and return'),
      new Option('--json', 'print JSON'),
      stackOption(),
      stateDirOption(),
    ],
    module: 'control',
    handler: 'run',
  },
  {
    name: 'runs',
    description: 'runs over a prefix and how they ended',
    options: [stackOption(), stateDirOption()],
    module: 'control',
    handler: 'runs',
  },
  { name: 'config', description: 'the central pipeline config: every node applies a new version without restart' },
  {
    name: 'config get',
    description: 'the config version in force, its overrides, and (with --history) earlier versions',
    options: [
      new Option('--history', 'list earlier versions'),
      new Option('--group <group>', 'show the effective config of this node group'),
      new Option('--json', 'print JSON'),
      stackOption(),
      stateDirOption(),
    ],
    module: 'control',
    handler: 'configGet',
  },
  {
    name: 'config set',
    description: 'validate and publish a new config version (a bad value is refused with the reason; the old version stays)',
    arguments: [new Argument('[assignments...]', 'key=value pairs, e.g. concurrencyPerNode=8 dataset.dedupe=true (JSON values; null removes an override)')],
    options: [
      new Option('--file <file>', 'replace the overrides with this JSON file: { "base": {...}, "groups": {...} } or a plain config object'),
      new Option('--group <group>', 'apply the assignments to this node group only'),
      new Option('--reason <text>', 'why (recorded with the version)'),
      stackOption(),
      stateDirOption(),
    ],
    module: 'control',
    handler: 'configSet',
  },
  { name: 'dataset', description: 'dataset indexes: the immutable, versioned shard lists training jobs read (clients/python: ShardlineDataset)' },
  {
    name: 'dataset index',
    description:
      'build the next version of a dataset index from COMPLETE objects and store it at s3://<processed>/indexes/NAME/VERSION.json; refuses objects not COMPLETE or unbalanced. ' +
      'A run can build one itself when it completes: shardline run SOURCE --index NAME (run state machine input {"bucket", "prefix", "index": {"name": NAME}})',
    options: [
      new Option('--run <runId>', "a finished run's objects (shardline runs)"),
      new Option('--prefix <prefix>', 'the newest object of every source key under this prefix ("" for all)'),
      new Option('--objects <keys...>', 'the newest object of each of these source keys'),
      new Option('--name <name>', "the dataset's name (letters, digits, . _ -)").argParser(usage(checkDatasetName)).makeOptionMandatory(),
      new Option('--out <file>', 'also write the index to this local file'),
      new Option('--json', 'print a JSON summary'),
      stackOption(),
      stateDirOption(),
    ],
    module: 'dataset',
    handler: 'datasetIndex',
  },
  {
    name: 'dataset list',
    description: "dataset names, their versions, and the newest version's records, shards and creation time",
    options: [new Option('--json', 'print JSON'), stackOption(), stateDirOption()],
    module: 'dataset',
    handler: 'datasetList',
  },
  {
    name: 'dataset show',
    description: 'one index version: lineage (source object versions, config version), records, shards per holder',
    arguments: [new Argument('<name>', 'dataset name')],
    options: [new Option('--version <n>', 'this version (default: the newest)').argParser(countArg), new Option('--json', 'print the index itself'), stackOption(), stateDirOption()],
    module: 'dataset',
    handler: 'datasetShow',
  },
  { name: 'checkpoints', description: "training checkpoints (clients/python: Checkpointer): saved on the host, uploaded by its agent, complete when every rank's part is durable" },
  {
    name: 'checkpoints list',
    description: "a job's steps: state, ranks durable, attempt, when committed and by which node; and the parts uploading now",
    options: [jobOption(), new Option('--json', 'print JSON'), stackOption(), stateDirOption()],
    module: 'checkpoints',
    handler: 'checkpointsList',
  },
  {
    name: 'checkpoints show',
    description: 'one step (default: the newest complete) and each rank part: state, node, files, bytes',
    options: [jobOption(), stepOption('this step (default: the newest complete)'), new Option('--json', 'print JSON'), stackOption(), stateDirOption()],
    module: 'checkpoints',
    handler: 'checkpointsShow',
  },
  {
    name: 'checkpoints restore',
    description: 'write a complete step to a directory (rank-NNNNN/ per rank), every multipart part sha256-checked and a bad one read from another copy',
    options: [
      jobOption(),
      stepOption('this step (default: the newest complete)'),
      new Option('--dest <dir>', 'where to write the files').makeOptionMandatory(),
      new Option('--rank <n>', "only this rank's part, its files directly in --dest").argParser(usage((v) => checkIndex('rank', /^\d+$/.test(v) ? Number(v) : NaN))),
      new Option('--local-copy <spool...>', "agents' spool directories to read parts from before S3 (a host's --checkpoint-dir)"),
      new Option('--json', 'print JSON'),
      stackOption(),
      stateDirOption(),
    ],
    module: 'checkpoints',
    handler: 'checkpointsRestore',
  },
  {
    name: 'checkpoints prune',
    description: 'delete steps behind a newer complete one (objects, every version, and registry items), keeping the newest K and every Nth',
    options: [
      jobOption(),
      new Option('--keep-last <k>', 'complete steps to keep').argParser(countArg).makeOptionMandatory(),
      new Option('--keep-every <n>', 'also keep every complete step that is a multiple of N').argParser(countArg),
      new Option('--dry-run', 'say what would be pruned'),
      new Option('--json', 'print JSON'),
      stackOption(),
      stateDirOption(),
    ],
    module: 'checkpoints',
    handler: 'checkpointsPrune',
  },
  {
    name: 'logs',
    description: 'search agent and chunker logs by object, chunk, node, run, level, text and time (local files, or CloudWatch Logs with --stack)',
    options: [
      new Option('--object <id>', 'records of this object id (and of its chunks)'),
      new Option('--chunk <id>', 'records of this chunk id'),
      new Option('--node <id>', "records written by this node (the chunker's: chunker)"),
      new Option('--run <id>', 'records of this run id'),
      new Option('--level <level>', 'this level or above: trace, debug, info, warn, error, critical'),
      new Option('--grep <text>', 'records whose line contains this text (case-sensitive)'),
      new Option('--since <duration>', 'records of the last 30s, 15m, 2h, 1d...'),
      new Option('--from <time>', 'records at or after this ISO time'),
      new Option('--to <time>', 'records at or before this ISO time'),
      new Option('--limit <n>', 'how many records: the most recent ones, oldest first').default(String(DEFAULT_LIMIT)),
      new Option('--json', 'print each record as a JSON line (as written)'),
      new Option('--stack <name>', `CloudWatch Logs of a deployed stack (default window: --since ${CLOUDWATCH_DEFAULT_SINCE})`),
      stateDirOption(),
    ],
    module: 'logs',
    handler: 'logs',
  },
  {
    name: 'doctor',
    description:
      'name the bottleneck (chunker, queue, download, processing, upload, distribution, throttling, nodes, placement, dead nodes) from metrics and the ledger, with the figures and what to do',
    options: [
      new Option('--window <duration>', 'how much metric history to read (1m..24h)').default(300, '5m').argParser(usage(parseWindow)),
      new Option('--json', 'print the diagnosis and the evidence as JSON'),
      new Option('--metrics-stage <stage>', 'Stage dimension of the metrics (default: local, or <stage> of a Shardline-<stage> stack)'),
      stackOption(),
      stateDirOption(),
    ],
    module: 'doctor',
    handler: 'doctor',
  },
  {
    name: 'plan',
    description: 'capacity plan for a dataset size and a target rate: nodes, chunk size, concurrency per node, S3 prefixes, the limit that binds, and an estimated AWS cost',
    options: [
      new Option('--size <size>', 'dataset size, e.g. 50TB').argParser(usage(parseSize)).makeOptionMandatory(),
      new Option('--rate <rate>', 'target rate, e.g. 10GB/s').argParser(usage(parseRate)).makeOptionMandatory(),
      new Option('--node-throughput <rate>', 'what one node processes, e.g. 800MB/s (default: measured from BytesProcessed of a recent run, else an assumption)').argParser(usage(parseRate)),
      new Option('--instance <type>', 'GPU instance type').choices(Object.keys(INSTANCE_TYPES)).default(PLAN_DEFAULTS.instanceType),
      new Option('--chunk-size <size>', 'chunk size (default: chosen for the fleet and the limits)').argParser(usage(parseSize)),
      new Option('--object-size <size>', `mean object size (default ${PLAN_DEFAULTS.objectSizeBytes / 1e9} GB, assumed)`).argParser(usage(parseSize)),
      new Option('--replication <n>', `replication factor R (default ${PLAN_DEFAULTS.replicationFactor})`).argParser(numberArg),
      new Option('--output-ratio <ratio>', `shard bytes per input byte (default ${PLAN_DEFAULTS.outputRatio}, assumed for gzip JSON Lines)`).argParser(numberArg),
      new Option('--chunker-concurrency <n>', `the chunker's maxConcurrency (default ${PLAN_DEFAULTS.chunker.maxConcurrency})`).argParser(numberArg),
      new Option('--json', 'print the plan as JSON'),
      new Option('--no-measure', 'do not read CloudWatch for a measured per-node throughput'),
      new Option('--no-simulate', 'size analytically only (by default the throughput and node count come from shardline simulate)'),
      new Option('--metrics-stage <stage>', 'Stage dimension to measure from (default: local, or <stage> of a Shardline-<stage> stack)'),
      new Option('--stack <name>', 'measure from this deployment (default: the local environment, if any)'),
      stateDirOption(),
    ],
    module: 'plan',
    handler: 'plan',
  },
  {
    name: 'simulate',
    description:
      'discrete-event simulation in virtual time of N nodes working a dataset with the real scheduling rules against modelled AWS services: throughput, utilization, chunk latency, request rates against quotas, failures, cost (see docs/simulation.md)',
    options: [
      new Option('--nodes <n>', 'nodes (agents)').default(100).argParser(countArg),
      new Option('--size <size>', 'dataset size, e.g. 50TB (default 1TB, and 50TB with --targets)').argParser(usage(parseSize)),
      new Option('--object-size <size>', 'mean object size (default 1 GB)').argParser(usage(parseSize)),
      new Option('--chunk-size <size>', 'chunk size (default: the one plan chooses for the fleet, 8 to 256 MiB)').argParser(usage(parseSize)),
      new Option('--instance <type>', 'GPU instance type').choices(Object.keys(INSTANCE_TYPES)).default(PLAN_DEFAULTS.instanceType),
      new Option('--replication <n>', 'replication factor R').argParser(numberArg),
      new Option('--concurrency <n>', 'concurrencyPerNode').argParser(numberArg),
      new Option('--output-ratio <ratio>', 'shard bytes per input byte (default 0.3)').argParser(numberArg),
      new Option('--chunker-concurrency <n>', "the chunker's maxConcurrency (default 10)").argParser(numberArg),
      new Option('--kill <fraction>', 'kill this share of the nodes (e.g. 0.2) at --kill-at').argParser(numberArg),
      new Option('--kill-at <duration>', 'when to kill, virtual time (e.g. 200s)').argParser(usage((v) => parseDuration(v, { bareUnit: 's' }))),
      new Option('--latency <profile>', 'latency model of the services').choices(['aws', 'emulator']).default('aws'),
      new Option('--control-plane <load>', "idle requests per node: the design's budget (the code since the diet), or issue 15's measurement before it")
        .choices(['budget', 'measured'])
        .default('budget'),
      new Option('--chunk-path <path>', 'round trips per chunk: the diet (4, the code now) or the code before it (7)').choices(['diet', 'current']).default('diet'),
      new Option('--seed <n>', 'seed of the pseudo-random generator (same seed, same result)').default(1).argParser(numberArg),
      new Option('--targets', "run issue 15's target scenarios over --size (100 and 1,000 nodes, 20% killed, 10 GB/s) and check them"),
      new Option('--json', 'print JSON'),
    ],
    module: 'simulate',
    handler: 'simulateCommand',
  },
];
