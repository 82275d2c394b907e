/**
 * The query model of `shardline logs`: which records an operator asks for (correlation ids, node,
 * minimum level, free text, a time range) and how many. Built once from CLI options, then used by
 * every searcher (local files, CloudWatch Logs) with the same exact-match semantics (`match.ts`).
 */
import { parseDuration } from '../units';

/** Powertools Logger's level names, lowest first. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

const LEVEL_ALIASES: Record<string, LogLevelName> = { WARNING: 'WARN', FATAL: 'CRITICAL' };

/** The rank of a level name (case-insensitive, `warning`/`fatal` accepted); undefined if it is none. */
export function levelRank(level: unknown): number | undefined {
  if (typeof level !== 'string') return undefined;
  const upper = level.toUpperCase();
  const i = LOG_LEVELS.indexOf((LEVEL_ALIASES[upper] ?? upper) as LogLevelName);
  return i < 0 ? undefined : i;
}

/** The spellings of a record's `level` that searches understand, with their rank (`WARN`, `warn`, `Warning`...). */
export const LEVEL_SPELLINGS: ReadonlyMap<string, number> = new Map(
  LOG_LEVELS.flatMap((level, rank) => {
    const names = level === 'WARN' ? [level, 'WARNING'] : level === 'CRITICAL' ? [level, 'FATAL'] : [level];
    return names.flatMap((n) => [n, n.toLowerCase(), `${n[0]}${n.slice(1).toLowerCase()}`]).map((s) => [s, rank] as const);
  }),
);

/** Every spelling of the levels at `minRank` or above. */
export function levelSpellingsFrom(minRank: number): string[] {
  return [...LEVEL_SPELLINGS].filter(([, rank]) => rank >= minRank).map(([spelling]) => spelling);
}

/** A normalized level name from user input (`warn`, `WARNING`, `error`...); throws on anything else. */
export function parseLevel(text: string): LogLevelName {
  const rank = levelRank(text.trim());
  if (rank === undefined) throw new Error(`unknown level '${text}' (expected one of ${LOG_LEVELS.map((l) => l.toLowerCase()).join(', ')})`);
  return LOG_LEVELS[rank];
}

/** An ISO 8601 time (`2026-11-02T10:00:00Z`, a date alone, or with an offset) in epoch ms; throws otherwise. */
export function parseTime(text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(ms)) throw new Error(`expected an ISO time such as 2026-11-02T10:00:00Z, got '${text}'`);
  return ms;
}

/** What to look for. Every field that is set must hold for a record to match. */
export interface LogQuery {
  /** `objectId`, or a `chunkId` of that object (`<objectId>-NNNNNN`). */
  readonly objectId?: string;
  readonly chunkId?: string;
  /** The node that wrote the record (`nodeId`, else the node of its source, e.g. `chunker`). */
  readonly nodeId?: string;
  readonly runId?: string;
  /** Records at this level or above. */
  readonly minLevel?: LogLevelName;
  /** Case-sensitive text anywhere in the line as written (or in a JSON string value). */
  readonly text?: string;
  /** Inclusive bounds, epoch ms. */
  readonly fromMs?: number;
  readonly toMs?: number;
  /** How many records to return: the most recent ones, printed oldest first. */
  readonly limit: number;
}

/** The CLI's options for a query (strings as typed). */
export interface LogQueryOptions {
  object?: string;
  chunk?: string;
  node?: string;
  run?: string;
  level?: string;
  grep?: string;
  since?: string;
  from?: string;
  to?: string;
  limit?: number | string;
}

export const DEFAULT_LIMIT = 100;

/**
 * Builds and validates a query. `--since` is relative to `now` and cannot be combined with
 * `--from`; `defaultSince` applies when no time bound is given at all (CloudWatch searches).
 */
export function buildLogQuery(opts: LogQueryOptions, now = Date.now(), defaultSince?: string): LogQuery {
  if (opts.since !== undefined && opts.from !== undefined) throw new Error('use either --since or --from, not both');
  const since = opts.since ?? (opts.from === undefined && opts.to === undefined ? defaultSince : undefined);
  const fromMs = since !== undefined ? now - parseDuration(since) : opts.from !== undefined ? parseTime(opts.from) : undefined;
  const toMs = opts.to !== undefined ? parseTime(opts.to) : undefined;
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) throw new Error('--from is after --to');
  const limit = opts.limit === undefined ? DEFAULT_LIMIT : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive integer, got '${opts.limit}'`);
  const id = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    if (value.trim() === '') throw new Error(`--${name} must not be empty`);
    return value.trim();
  };
  if (opts.grep !== undefined && opts.grep === '') throw new Error('--grep must not be empty');
  return {
    objectId: id('object', opts.object),
    chunkId: id('chunk', opts.chunk),
    nodeId: id('node', opts.node),
    runId: id('run', opts.run),
    minLevel: opts.level === undefined ? undefined : parseLevel(opts.level),
    text: opts.grep,
    fromMs,
    toMs,
    limit,
  };
}
