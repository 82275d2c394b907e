import type { Writable } from 'node:stream';

/**
 * Writes to a stream and, when it asks for a pause (`write()` returned false), waits for
 * 'drain'. Rejects if the stream fails or closes first, so a dead consumer never hangs us.
 */
export async function writeWithBackpressure(out: Writable, data: string | Buffer): Promise<void> {
  if (out.destroyed || out.writableEnded) throw out.errored ?? new Error('cannot write: the output stream is closed');
  if (out.write(data)) return;
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(out.errored ?? new Error('the output stream closed before draining'));
    };
    out.on('drain', onDrain);
    out.on('error', onError);
    out.on('close', onClose);
  });
}

/**
 * Collects lines into batches of about `batchBytes` before writing them, so a stream of small
 * records costs one `write()` (and at most one wait for 'drain') per batch, not per record.
 */
export class BatchedLineWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(
    private readonly out: Writable,
    private readonly batchBytes = 64 * 1024,
  ) {}

  /** Adds one line (a `\n` is appended); true when the batch is full and `flush()` is due. */
  add(line: string): boolean {
    this.parts.push(line, '\n');
    this.size += line.length + 1;
    return this.size >= this.batchBytes;
  }

  /** Writes the batch, waiting for the stream to drain if it asks for a pause. */
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await writeWithBackpressure(this.out, text);
  }
}
