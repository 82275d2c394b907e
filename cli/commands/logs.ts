/**
 * `shardline logs`: search the structured logs of agents and the chunker, locally (the state
 * directory's log files) or on AWS (the stack's CloudWatch Logs groups). An adapter over lib/logs.
 */
import { CLOUDWATCH_DEFAULT_SINCE } from '../options';
import { formatBytes, formatCount } from '../../lib/units';
import type { CloudWatchSearchResult, LogGroupSource } from '../../lib/logs/cloudwatch-search';
import { formatRecord, formatRecordJson } from '../../lib/logs/format';
import { CHUNKER_NODE, searchLocalLogs, type LogSearchResult } from '../../lib/logs/local-search';
import { buildLogQuery, type LogQuery, type LogQueryOptions } from '../../lib/logs/query';
import type { ResourceNames } from '../../lib/resources';
import { resolveTarget } from '../../lib/aws/target';

interface LogsOptions extends LogQueryOptions {
  json?: boolean;
  stack?: string;
  stateDir: string;
}

/** `shardline logs`: prints the matching records on stdout and a one-line summary on stderr. */
export async function logs(opts: LogsOptions): Promise<void> {
  const query = buildLogQuery(opts, Date.now(), opts.stack ? CLOUDWATCH_DEFAULT_SINCE : undefined);
  const started = process.hrtime.bigint();
  const result = opts.stack ? await searchStack(opts.stack, query) : await searchLocalLogs(opts.stateDir, query);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const lines = result.records.map(opts.json ? formatRecordJson : formatRecord);
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  console.error(summary(result, query, ms));
}

async function searchStack(stack: string, query: LogQuery): Promise<CloudWatchSearchResult> {
  // Required here: loading the CloudWatch Logs client takes about 65 ms that a local search, which reads files, should not pay.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { searchCloudWatchLogs } = require('../../lib/logs/cloudwatch-search') as typeof import('../../lib/logs/cloudwatch-search');
  const { cloudWatchLogsFor } = require('../../lib/logs/cloudwatch-logs-client') as typeof import('../../lib/logs/cloudwatch-logs-client');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const target = await resolveTarget({ stack });
  return searchCloudWatchLogs(cloudWatchLogsFor(target.clients), stackLogGroups(target.resources), query);
}

/** The log groups of a deployment: the agents' (records carry their nodeId) and the chunker Lambda's. */
export function stackLogGroups(resources: Pick<ResourceNames, 'agentLogGroup' | 'chunkerLogGroup'>): LogGroupSource[] {
  return [{ logGroupName: resources.agentLogGroup }, { logGroupName: resources.chunkerLogGroup, node: CHUNKER_NODE }];
}

/** One line for stderr: how many records, from how much, how fast, and whether the limit cut it. */
function summary(result: LogSearchResult | CloudWatchSearchResult, query: LogQuery, ms: number): string {
  const searched =
    'pages' in result
      ? `${formatCount(result.eventsScanned)} events in ${result.pages} page(s) of ${result.sources} log group(s)`
      : `${formatBytes(result.bytesRead, 'fixed')} of ${result.sources} log file(s), ${formatCount(result.linesParsed)} line(s) parsed`;
  const more = result.truncated && result.records.length >= query.limit ? ` — the ${query.limit} most recent shown; narrow the query or raise --limit for more` : '';
  const incomplete = 'incompleteGroups' in result && result.incompleteGroups.length > 0 ? ` — stopped paging ${result.incompleteGroups.join(', ')}: narrow the time range` : '';
  return `${formatCount(result.records.length)} record(s) · searched ${searched} in ${ms.toFixed(0)} ms${more}${incomplete}`;
}
