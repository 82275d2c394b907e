const NEWLINE = Buffer.from('\n');

/**
 * Assembles a block's output lines: original byte ranges of the block (runs of adjacent ones
 * copied as one piece, so a block of unchanged records costs no copy at all) and serialized
 * records. Every line ends with a single `\n`.
 */
export class BlockOutputBuilder {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  /** A pending run `[runStart, runEnd)` of source bytes, ending with a `\n` of the source. */
  private runStart = 0;
  private runEnd = -1;
  private texts: string[] = [];
  private textBytes = 0;
  /** The end of each line in the output (past its `\n`), when tracked. */
  readonly lineEnds: number[] | undefined;

  constructor(
    private readonly source: Buffer,
    trackLines: boolean,
  ) {
    this.lineEnds = trackLines ? [] : undefined;
  }

  /** Adds the source's bytes `[start, end)` as a line; `lfFollows`: the source has its `\n` at `end`. */
  original(start: number, end: number, lfFollows: boolean): void {
    this.flushTexts();
    if (lfFollows && this.runEnd === start) {
      this.runEnd = end + 1;
    } else if (lfFollows) {
      this.flushRun();
      this.runStart = start;
      this.runEnd = end + 1;
    } else {
      this.flushRun();
      this.push(this.source.subarray(start, end));
      this.push(NEWLINE);
    }
    this.lineEnds?.push(this.size + (this.runEnd < 0 ? 0 : this.runEnd - this.runStart));
  }

  /** Adds a serialized record as a line. */
  serialized(line: string): void {
    this.flushRun();
    this.texts.push(line, '\n');
    if (this.lineEnds) {
      this.textBytes += Buffer.byteLength(line) + 1;
      this.lineEnds.push(this.size + this.textBytes);
    }
  }

  /** The output: the one piece itself when there is only one, else the pieces joined. */
  finish(): Buffer {
    this.flushRun();
    this.flushTexts();
    if (this.parts.length === 1) {
      const only = this.parts[0];
      return Buffer.from(only.buffer, only.byteOffset, only.byteLength);
    }
    return Buffer.concat(this.parts, this.size);
  }

  private flushRun(): void {
    if (this.runEnd < 0) return;
    this.push(this.source.subarray(this.runStart, this.runEnd));
    this.runEnd = -1;
  }

  private flushTexts(): void {
    if (this.texts.length === 0) return;
    this.push(Buffer.from(this.texts.join(''), 'utf8'));
    this.texts = [];
    this.textBytes = 0;
  }

  private push(piece: Uint8Array): void {
    this.parts.push(piece);
    this.size += piece.length;
  }
}
