import type { Readable, Writable } from 'node:stream';

/** An upload that starts only once there is something to upload. */
export interface DeferredUpload {
  /**
   * Says whether anything was written (e.g. the chunk rejected records), once the writable side has
   * ended: starts the upload now if it has not started and there is something, else drains the
   * readable side. Resolves true once uploaded, false when nothing was.
   */
  finish(written: boolean): Promise<boolean>;
}

/**
 * Defers an output's upload until its encoder produces bytes while it is still being written (so
 * records were written), or until `finish(true)`: an output nothing was written to (a chunk
 * without rejects) costs no PUT and leaves no empty object behind. Bytes the encoder produces only
 * at its end (a gzip header and trailer of empty input) start nothing by themselves.
 */
export function deferredUpload(output: { readable: Readable; writable: Writable }, start: (body: Readable) => Promise<void>): DeferredUpload {
  let upload: Promise<void> | undefined;
  const begin = () => {
    if (!upload) {
      upload = start(output.readable);
      upload.catch(() => undefined); // awaited by finish(); until then a failure must not be unhandled
    }
    return upload;
  };
  const onReadable = () => {
    if (!output.writable.writableEnded) begin();
  };
  output.readable.once('readable', onReadable);
  return {
    async finish(written) {
      output.readable.off('readable', onReadable);
      if (!upload && !written) {
        output.readable.resume(); // nothing to keep: let the encoder finish into the void
        return false;
      }
      await begin();
      return true;
    },
  };
}
