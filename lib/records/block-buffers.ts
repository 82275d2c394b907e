import { blockRoom, DEFAULT_BLOCK_BYTES } from './line-blocks';

/** Room a new block buffer gets (a default block and the line that holds its cut). */
const BLOCK_CAPACITY = blockRoom(DEFAULT_BLOCK_BYTES);
/** Buffers grown past this (a long line) are left to the garbage collector. */
const MAX_REUSED_BYTES = 4 * DEFAULT_BLOCK_BYTES;

/**
 * Block buffers handed out for blocks and taken back once nothing points into them, for the next
 * blocks: no fresh pages to fault in and less for the garbage collector, whose collections the
 * buffers' bytes would otherwise set off (see `bench:processing`).
 */
export class BlockBuffers {
  private readonly free: ArrayBuffer[] = [];
  private readonly own = new WeakSet<ArrayBuffer>();

  /** @param keep buffers kept for later blocks at most */
  constructor(private readonly keep: number) {}

  /** A buffer for a block of `size` bytes: a kept one large enough, else a new one with room to spare. */
  allocate(size: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      if (this.free[i].byteLength >= size) return Buffer.from(this.free.splice(i, 1)[0], 0, size);
    }
    const buffer = Buffer.allocUnsafeSlow(Math.max(size, BLOCK_CAPACITY)).buffer as ArrayBuffer;
    this.own.add(buffer);
    return Buffer.from(buffer, 0, size);
  }

  /** Whether `buffer` came from here (so it is the block's alone, whatever part of it the block fills). */
  has(buffer: ArrayBufferLike): boolean {
    return buffer instanceof ArrayBuffer && this.own.has(buffer);
  }

  /** Keeps `buffer`, which no block uses any more, for a later block. */
  reuse(buffer: ArrayBuffer): void {
    if (this.free.length >= this.keep || buffer.byteLength > MAX_REUSED_BYTES || buffer.byteLength === 0) return;
    this.own.add(buffer);
    this.free.push(buffer);
  }
}
