/**
 * The `shardline` operator CLI: local environment, ingest, status, demo. Each command is a thin
 * adapter over lib/; options are parsed and validated by commander.
 */
import { Command, Option } from 'commander';
import { redrive } from '../lib/ops/redrive';
import { registerCapacityCommands } from './capacity-commands';
import { registerControlCommands } from './control';
import { ingestCommand } from './ingest';
import { registerLogsCommand } from './logs';
import { DEFAULT_DASHBOARD_PORT } from '../lib/observability/dashboard/default-port';
import { countArg, portArg, stackOption, stateDirOption, usage } from './options';
import { collectStatus } from '../lib/observability/status';
import { renderStatus } from './status';
import { watchStatus } from './status-watch';
import { parseInterval } from '../lib/units';
import { resolveTarget } from '../lib/aws/target';

/**
 * The commands that run the local environment synthesize the CDK app (aws-cdk-lib): they are
 * loaded when they run, so that every other command starts in well under a second.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const localUpModule = () => require('./local-up') as typeof import('./local-up');
const chaosModule = () => require('./chaos') as typeof import('./chaos');
const demoModule = () => require('./demo') as typeof import('./demo');
/* eslint-enable @typescript-eslint/no-require-imports */


export function buildCli(): Command {
  const program = new Command('shardline').description('Move ML training data from S3 to GPU training hosts').showHelpAfterError();

  const local = program.command('local').description('run the whole pipeline locally against an AWS emulator');
  local
    .command('up')
    .description('start the emulator (or use --endpoint), provision the stack, run the chunker and N agents')
    .addOption(new Option('--agents <n>', 'agent processes (nodes) to start').default(3).argParser(countArg))
    .option('--endpoint <url>', 'use this AWS endpoint (e.g. LocalStack http://127.0.0.1:4566) instead of starting moto')
    .option('--config <file>', 'pipeline config JSON (validated; defaults fill the rest)')
    .addOption(new Option('--slow-ms <ms>', 'fault injection: extra milliseconds of work per chunk in every agent (a slow transform)').argParser(Number))
    .addOption(new Option('--dashboard-port <n>', 'port of the live web dashboard (0 = a free one)').default(DEFAULT_DASHBOARD_PORT).argParser(portArg))
    .addOption(stateDirOption())
    .action(async (opts) => localUpModule().localUp(opts));

  local
    .command('chaos')
    .description('fault injection while data flows: SIGKILL / SIGSTOP agents and report detection, recovery and accounting')
    .addOption(new Option('--agents <n>', 'agent processes').default(6).argParser(countArg))
    .addOption(new Option('--kill <n>', 'agents to SIGKILL during the run').default(2).argParser(Number))
    .addOption(new Option('--pause <n>', 'agents to SIGSTOP, then SIGCONT after --pause-ms').default(0).argParser(Number))
    .addOption(new Option('--pause-ms <ms>', 'how long a paused agent stays stopped').default(8000).argParser(Number))
    .addOption(new Option('--restart-after-ms <ms>', 'restart killed agents after this long').argParser(Number))
    .addOption(new Option('--slow-ms <ms>', 'extra work per chunk in every agent (makes pauses land mid-chunk)').argParser(Number))
    .option('--size <size>', 'dataset size', '6MB')
    .option('--chunk-size <size>', 'chunk size', '128KiB')
    .option('--endpoint <url>', 'use this AWS endpoint instead of starting moto')
    .addOption(stateDirOption())
    .action(async (opts) => {
      const ok = await chaosModule().chaosCommand(opts);
      process.exitCode = ok ? 0 : 1;
    });

  program
    .command('ingest')
    .description('copy a local file or folder, or s3://bucket/prefix, into the ingest bucket')
    .argument('<source>', 'local file, local folder, or s3://bucket/prefix')
    .option('--prefix <prefix>', 'key prefix in the ingest bucket', '')
    .addOption(stackOption())
    .addOption(stateDirOption())
    .action(async (source, opts) => ingestCommand(source, opts));

  program
    .command('status')
    .description("each object's progress and counts from the ledger, and the nodes")
    .option('--json', 'print JSON')
    .option('--watch', 'live view, redrawn every --interval until Ctrl-C')
    .addOption(new Option('--interval <duration>', 'refresh interval of --watch (e.g. 1s, 500ms)').default(1000, '1s').argParser(usage(parseInterval)))
    .addOption(stackOption())
    .addOption(stateDirOption())
    .action(async (opts) => {
      if (opts.watch) return watchStatus(opts);
      const status = await collectStatus(await resolveTarget(opts));
      console.log(opts.json ? JSON.stringify(status, null, 2) : renderStatus(status));
    });

  program
    .command('redrive')
    .description('send dead-lettered messages back after a fix (work DLQ → work queue, or ingest DLQ → ingest-events)')
    .addOption(new Option('--queue <which>', 'which dead-letter queue').choices(['work', 'ingest']).default('work'))
    .addOption(stackOption())
    .addOption(stateDirOption())
    .action(async (opts) => {
      const t = await resolveTarget(opts);
      const [from, to] = opts.queue === 'work' ? [t.resources.workDlqUrl, t.resources.workQueueUrl] : [t.resources.ingestEventsDlqUrl, t.resources.ingestEventsQueueUrl];
      const result = await redrive({ sqs: t.clients.sqs, doc: t.clients.doc, ledgerTable: t.resources.ledgerTable }, from, to);
      console.log(`redrove ${result.moved} message(s); reopened ${result.objectsReopened} failed object(s)`);
    });

  program
    .command('demo')
    .description('one command: local up, generate a JSON Lines dataset, ingest, verify, summarize, shut down')
    .option('--size <size>', 'dataset size, e.g. 20MB, 1GB', '24MB')
    .addOption(new Option('--agents <n>', 'agent processes').default(3).argParser(countArg))
    .option('--endpoint <url>', 'use this AWS endpoint instead of starting moto')
    .addOption(stateDirOption())
    .action(async (opts) => {
      const ok = await demoModule().runDemo(opts);
      process.exitCode = ok ? 0 : 1;
    });

  registerControlCommands(program);
  registerLogsCommand(program);
  registerCapacityCommands(program);
  return program;
}

if (require.main === module) {
  buildCli()
    .parseAsync()
    .catch((err) => {
      console.error(`shardline: ${(err as Error).message}`);
      process.exit(1);
    });
}
