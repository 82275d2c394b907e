import type { CacheEntry } from './cache-manifest';

/** What making room for a pull comes to. */
export interface RoomPlan {
  /** Whether the pull fits once `evict` is gone. */
  fits: boolean;
  /** Shards to evict first, least recently used first (empty when the pull fits as it is, or cannot fit at all). */
  evict: CacheEntry[];
}

/**
 * Chooses what to evict so that `needBytes` more fit under `capacityBytes`: only shards that
 * placement no longer assigns here, least recently used first (ties by chunk id, so the choice
 * is deterministic). When even evicting all of them would not make room, nothing is evicted and
 * the pull is refused: evicting for a pull that still cannot happen would only lose cached data.
 */
export function planRoom(entries: Iterable<CacheEntry>, needBytes: number, usedBytes: number, capacityBytes: number): RoomPlan {
  if (usedBytes + needBytes <= capacityBytes) return { fits: true, evict: [] };
  const candidates = [...entries].filter((e) => !e.assigned).sort((a, b) => a.lastUsedAt - b.lastUsedAt || a.chunkId.localeCompare(b.chunkId) || a.path.localeCompare(b.path));
  const evict: CacheEntry[] = [];
  let used = usedBytes;
  for (const e of candidates) {
    if (used + needBytes <= capacityBytes) break;
    evict.push(e);
    used -= e.bytes;
  }
  return used + needBytes <= capacityBytes ? { fits: true, evict } : { fits: false, evict: [] };
}

/**
 * When a shard was last used. Record reads happen in training processes the agent never sees,
 * so the file's atime stands for them where the mount updates it (Linux `relatime`, the default,
 * updates it on the first read after a write and then at most daily; `noatime` never): the later
 * of the pull and the atime. The agent's own checksum reads put the atime back (see `ShardCache`).
 */
export function lastUsedOf(pulledAt: number, atimeMs: number): number {
  return Math.max(pulledAt, Number.isFinite(atimeMs) ? atimeMs : 0);
}
