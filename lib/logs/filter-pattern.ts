/**
 * The CloudWatch Logs filter pattern for a query: the server-side half of a CloudWatch search.
 * It only has to let every matching event through (the exact rule is applied to what comes
 * back, `match.ts`), so a filter that cannot be expressed safely is left out rather than guessed.
 *
 * Structured filters become a JSON pattern (`{ $.chunkId = "…" && … }`); text alone becomes an
 * exact-phrase term (`"…"`). Emulators differ: moto applies plain and quoted terms but ignores
 * JSON patterns (every event comes back, and the client-side rule does all the work).
 */
import { levelRank, levelSpellingsFrom, type LogQuery } from './query';

/** CloudWatch's limit on a filter pattern's length. */
const MAX_PATTERN_LENGTH = 1024;

/** The filter pattern for events of a log group written by `groupNode` (undefined: several nodes). */
export function cloudWatchFilterPattern(query: LogQuery, groupNode?: string): string {
  const clauses: string[] = [];
  const eq = (selector: string, value: string, wildcard = '') => (isPlain(value) ? `$.${selector} = "${value}${wildcard}"` : undefined);
  const add = (clause: string | undefined) => clause && clauses.push(clause);
  if (query.chunkId !== undefined) add(eq('chunkId', query.chunkId));
  if (query.objectId !== undefined) {
    const byObject = eq('objectId', query.objectId);
    const byChunk = eq('chunkId', `${query.objectId}-`, '*');
    add(byObject && byChunk && `(${byObject} || ${byChunk})`);
  }
  if (query.runId !== undefined) add(eq('runId', query.runId));
  if (query.nodeId !== undefined && query.nodeId !== groupNode) add(eq('nodeId', query.nodeId));
  const minRank = query.minLevel === undefined ? 0 : levelRank(query.minLevel)!;
  if (minRank > 0) {
    add(
      `(${levelSpellingsFrom(minRank)
        .map((n) => `$.level = "${n}"`)
        .join(' || ')})`,
    );
  }
  if (clauses.length > 0) {
    const pattern = `{ ${clauses.join(' && ')} }`;
    return pattern.length <= MAX_PATTERN_LENGTH ? pattern : '';
  }
  if (query.text !== undefined && isPlain(query.text) && query.text.length + 2 <= MAX_PATTERN_LENGTH) return `"${query.text}"`;
  return '';
}

/** A value that needs no escaping inside a pattern's double quotes and holds no wildcard. */
function isPlain(value: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what it must refuse
  return value.length > 0 && !/["\\*\u0000-\u001f]/.test(value);
}
