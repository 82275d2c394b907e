/**
 * Searches a deployment's CloudWatch Logs groups (the agents' and the chunker Lambda's):
 * FilterLogEvents with a filter pattern built from the query, page after page, then the exact
 * rule on every event that comes back, merged in time order.
 */
import { FilterLogEventsCommand, type CloudWatchLogsClient, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { TIME_ORDER_SLACK_MS } from './file-search';
import { cloudWatchFilterPattern } from './filter-pattern';
import { matchesQuery } from './match';
import type { LogQuery } from './query';
import { mostRecent, toLogRecord, type LogRecord } from './record';
import type { LogSearchResult } from './local-search';

/** A log group and who writes to it. */
export interface LogGroupSource {
  readonly logGroupName: string;
  /** The node of records without a `nodeId` (the chunker Lambda's group: `chunker`). */
  readonly node?: string;
}

export interface CloudWatchSearchOptions {
  /** Events per FilterLogEvents page (at most 10,000). @default 10000 */
  readonly pageSize?: number;
  /** Pages read per group at most, so a broad query over a long range cannot run away. @default 200 */
  readonly maxPages?: number;
}

/** What a CloudWatch search found, with what it cost. */
export interface CloudWatchSearchResult extends LogSearchResult {
  /** Events CloudWatch returned (before the exact rule). */
  readonly eventsScanned: number;
  readonly pages: number;
  /** Groups whose pages ran out at `maxPages`: older matches may be missing. */
  readonly incompleteGroups: string[];
}

/** The `query.limit` most recent events of `groups` that match `query`, oldest first. */
export async function searchCloudWatchLogs(client: CloudWatchLogsClient, groups: LogGroupSource[], query: LogQuery, opts: CloudWatchSearchOptions = {}): Promise<CloudWatchSearchResult> {
  const perGroup = await Promise.all(groups.map((g) => searchGroup(client, g, query, opts)));
  const all = perGroup.flatMap((r) => r.records);
  return {
    records: mostRecent(all, query.limit),
    truncated: all.length >= query.limit || perGroup.some((r) => r.incomplete),
    sources: groups.length,
    bytesRead: perGroup.reduce((n, r) => n + r.bytes, 0),
    linesParsed: perGroup.reduce((n, r) => n + r.events, 0),
    eventsScanned: perGroup.reduce((n, r) => n + r.events, 0),
    pages: perGroup.reduce((n, r) => n + r.pages, 0),
    incompleteGroups: groups.filter((_, i) => perGroup[i].incomplete).map((g) => g.logGroupName),
  };
}

async function searchGroup(client: CloudWatchLogsClient, group: LogGroupSource, query: LogQuery, opts: CloudWatchSearchOptions) {
  const filterPattern = cloudWatchFilterPattern(query, group.node);
  // Event times are when the line was read; the record's own timestamp decides, client-side.
  const startTime = query.fromMs === undefined ? undefined : Math.max(0, query.fromMs - TIME_ORDER_SLACK_MS);
  const endTime = query.toMs === undefined ? undefined : query.toMs + TIME_ORDER_SLACK_MS;
  const maxPages = opts.maxPages ?? 200;
  let kept: LogRecord[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  let events = 0;
  let bytes = 0;
  do {
    const page = await client.send(
      new FilterLogEventsCommand({ logGroupName: group.logGroupName, filterPattern: filterPattern || undefined, startTime, endTime, nextToken, limit: opts.pageSize ?? 10_000 }),
    );
    pages++;
    for (const event of page.events ?? []) {
      events++;
      bytes += event.message?.length ?? 0;
      const record = recordOf(event, group, events);
      if (matchesQuery(record, query)) kept.push(record);
    }
    // Pages need not come in time order across streams: keep the latest `limit` seen so far.
    if (kept.length > 2 * query.limit) kept = mostRecent(kept, query.limit);
    nextToken = page.nextToken;
  } while (nextToken && pages < maxPages);
  return { records: mostRecent(kept, query.limit), pages, events, bytes, incomplete: Boolean(nextToken) };
}

function recordOf(event: FilteredLogEvent, group: LogGroupSource, seq: number): LogRecord {
  const line = (event.message ?? '').replace(/\r?\n$/, '');
  const label = event.logStreamName ? `${group.logGroupName}/${event.logStreamName}` : group.logGroupName;
  return toLogRecord(line, { label, node: group.node }, seq, event.timestamp ?? 0);
}
