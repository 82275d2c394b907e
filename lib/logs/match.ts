/**
 * Whether a record matches a query (the exact rule every searcher applies last), and the byte
 * strings a matching line must contain (the prefilter that lets the local searcher skip
 * JSON.parse for nearly every line).
 */
import { LEVEL_SPELLINGS, levelRank, levelSpellingsFrom, type LogQuery } from './query';
import type { LogRecord } from './record';

/** The exact rule: every filter the query sets holds for the record. */
export function matchesQuery(record: LogRecord, query: LogQuery): boolean {
  if (query.fromMs !== undefined && record.time < query.fromMs) return false;
  if (query.toMs !== undefined && record.time > query.toMs) return false;
  const f = record.fields;
  if (query.chunkId !== undefined && f.chunkId !== query.chunkId) return false;
  if (query.objectId !== undefined && f.objectId !== query.objectId && !(typeof f.chunkId === 'string' && f.chunkId.startsWith(`${query.objectId}-`))) return false;
  if (query.runId !== undefined && f.runId !== query.runId) return false;
  if (query.nodeId !== undefined && record.node !== query.nodeId) return false;
  if (query.minLevel !== undefined && !((LEVEL_SPELLINGS.get(record.level as string) ?? -1) >= levelRank(query.minLevel)!)) return false;
  if (query.text !== undefined && !record.raw.includes(query.text) && !record.raw.includes(jsonEscaped(query.text))) return false;
  return true;
}

/** `text` as it appears inside a JSON string (quotes, backslashes and control characters escaped). */
export function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** Alternatives of which a matching line contains at least one. */
export interface NeedleGroup {
  readonly alternatives: string[];
  /** Set on the level group: the minimum rank it stands for (a searcher may test the level itself). */
  readonly minLevelRank?: number;
}

/**
 * The prefilter for lines of a source whose node is `sourceNode`: a list of groups. A line that
 * matches the query contains, for every group, at least one of its alternatives (the converse
 * need not hold: candidates are then parsed and checked exactly). Most selective groups come
 * first. An empty list means every line is a candidate.
 */
export function prefilterNeedles(query: LogQuery, sourceNode?: string): NeedleGroup[] {
  const groups: NeedleGroup[] = [];
  const add = (alternatives: string[]) => groups.push({ alternatives });
  const quoted = (v: string) => `"${jsonEscaped(v)}"`;
  if (query.chunkId !== undefined) add([quoted(query.chunkId)]);
  // The object id opens either `"objectId":"<id>"` or `"chunkId":"<id>-000001"`.
  if (query.objectId !== undefined) add([`"${jsonEscaped(query.objectId)}`]);
  if (query.runId !== undefined) add([quoted(query.runId)]);
  if (query.text !== undefined) add([...new Set([query.text, jsonEscaped(query.text)])]);
  // Records of a source that has no nodeId of their own take the source's node.
  if (query.nodeId !== undefined && query.nodeId !== sourceNode) add([quoted(query.nodeId)]);
  const minLevelRank = query.minLevel === undefined ? 0 : levelRank(query.minLevel)!;
  if (minLevelRank > 0) groups.push({ alternatives: levelNeedles(minLevelRank), minLevelRank });
  return groups;
}

/** Every way a level at `minRank` or above can be written as a JSON string value. */
function levelNeedles(minRank: number): string[] {
  return levelSpellingsFrom(minRank).map((spelling) => `"${spelling}"`);
}
