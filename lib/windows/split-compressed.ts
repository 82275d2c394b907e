import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { chunkIdOf, type ChunkMessage } from '../chunking/chunk';
import { layout } from '../storage/layout';
import { cutWindows, type DecompressedWindow } from './cut-windows';

/** Where the windows of a split object go, and how they become chunks. */
export interface WindowStager {
  s3: S3Client;
  /** The bucket the windows are staged in (the processed bucket, under `staging/`). */
  processedBucket: string;
  /** Makes the object's chunk count at least `chunkCount`, conditional on the splitting chunk's lease (`ChunkLedger.growChunkCount`). */
  grow: (chunkCount: number) => Promise<void>;
  /** Sends one window's chunk message to the work queue. */
  enqueue: (msg: ChunkMessage) => Promise<void>;
}

/** What splitting an object did. */
export interface SplitResult {
  /** The object's chunk count now: its windows, window 0 included (0 for an object that decompresses to nothing). */
  chunkCount: number;
  /** Decompressed bytes staged for other agents (every window but the first). */
  stagedBytes: number;
}

/**
 * Splits a compressed object, read by the agent that holds the lease of its chunk 0 (`split`),
 * into decompressed windows of whole lines (`cutWindows`). Window 0 is handed to `onFirst` (the
 * caller processes it as chunk 0, at once, while the rest is read); every other window is staged
 * in the processed bucket, registered in the ledger (the object's chunk count grows to include
 * it) and only then enqueued as an ordinary uncompressed chunk of the object, so that the object
 * cannot complete before all of its windows are committed. Windows are staged one at a time,
 * overlapped with decompressing the next. Windows depend only on the object's bytes and
 * `split.windowBytes`: a second attempt stages, registers and enqueues the same windows again,
 * and the ledger's leases make each one count once. `stop` ends the split early (the first
 * window failed).
 */
export async function splitIntoWindows(
  stager: WindowStager,
  split: ChunkMessage & { windowBytes: number },
  decompressed: AsyncIterable<Uint8Array>,
  maxLineBytes: number,
  onFirst: (window: DecompressedWindow) => void,
  stop: () => boolean = () => false,
): Promise<SplitResult> {
  let staging: Promise<void> = Promise.resolve();
  const result: SplitResult = { chunkCount: 0, stagedBytes: 0 };
  for await (const window of cutWindows(decompressed, split.windowBytes, maxLineBytes)) {
    if (stop()) break;
    result.chunkCount = window.index + 1;
    if (window.index === 0) {
      onFirst(window);
      continue;
    }
    await staging; // one window in flight: windows are registered in order
    staging = stageWindow(stager, split, window);
    staging.catch(() => undefined); // awaited above or below
    result.stagedBytes += window.length;
  }
  await staging;
  return result;
}

/** Stages one window, grows the object's chunk count to include it, then enqueues it. */
async function stageWindow(stager: WindowStager, split: ChunkMessage, window: DecompressedWindow): Promise<void> {
  const key = layout.stagingKey(split.objectId, window.index);
  const put = await stager.s3.send(new PutObjectCommand({ Bucket: stager.processedBucket, Key: key, Body: window.body, ContentType: 'application/octet-stream' }));
  await stager.grow(window.index + 1);
  await stager.enqueue(windowMessage(split, window, stager.processedBucket, key, (put.ETag ?? '').replace(/"/g, '')));
}

/**
 * The chunk message of a staged window: an uncompressed chunk `[offset, offset + length)` of the
 * decompressed object, read from the staged object, which starts at decompressed byte `base`.
 */
export function windowMessage(split: ChunkMessage, window: Pick<DecompressedWindow, 'index' | 'offset' | 'length' | 'lead'>, bucket: string, key: string, etag: string): ChunkMessage {
  const end = window.offset + window.length;
  return {
    v: 1,
    objectId: split.objectId,
    chunkId: chunkIdOf(split.objectId, window.index),
    index: window.index,
    // A lower bound while the object is split: the ledger's object item holds the count.
    chunkCount: window.index + 1,
    bucket,
    key,
    etag,
    objectSize: end,
    start: window.offset,
    end,
    format: split.format,
    compression: 'none',
    ...(split.runId ? { runId: split.runId } : {}),
    window: { base: window.offset - window.lead },
  };
}
