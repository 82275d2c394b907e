import type { RecordFormat } from '../../config/pipeline-config';
import { createCsvReader } from './csv';
import { createJsonlReader } from './jsonl';
import { createTextReader } from './text';
import type { LineReader } from './types';

export type { JsonObject, LineParse, LineReader } from './types';

/** The formats that are split into line records (`binary` is passed through whole). */
export type LineFormat = Exclude<RecordFormat, 'binary'>;

/**
 * A fresh reader for one chunk of a line format. For CSV, pass `csvHeader` (the object's first
 * line) unless the chunk starts at 0, where the first record is the header. JSON records nested
 * deeper than `maxDepth` are rejected.
 */
export function createLineReader(format: LineFormat, options: { csvHeader?: string; maxDepth?: number } = {}): LineReader {
  switch (format) {
    case 'jsonl':
      return createJsonlReader({ maxDepth: options.maxDepth });
    case 'csv':
      return createCsvReader({ header: options.csvHeader });
    case 'text':
      return createTextReader();
    default:
      throw new Error(`no line reader for format "${format as string}"`);
  }
}
