import { parse } from 'csv-parse/sync';
import { setField } from '../field-transforms';
import { ObjectInputError } from '../input-limits';
import type { JsonObject, LineParse, LineReader } from './types';

/** Options of the CSV reader. */
export interface CsvReaderOptions {
  /**
   * The object's header line. Give it for chunks that do not start at 0; without it, the
   * first line read is taken as the header (the chunk at offset 0).
   */
  header?: string;
}

/**
 * Reads CSV one line at a time (so a quoted field cannot span lines: such a line is rejected).
 * Records become objects keyed by the header's column names, values as strings. The delimiter
 * is a tab when the header has tabs and no commas (TSV), else a comma.
 */
export function createCsvReader(options: CsvReaderOptions = {}): LineReader {
  let columns: string[] | undefined;
  let delimiter = ',';

  const setHeader = (line: string): void => {
    delimiter = line.includes('\t') && !line.includes(',') ? '\t' : ',';
    const fields = parseLine(line, delimiter);
    if (!Array.isArray(fields)) throw new ObjectInputError(`invalid CSV header: ${fields.reason}`);
    const seen = new Set<string>();
    for (const name of fields) {
      if (seen.has(name)) throw new ObjectInputError(`invalid CSV header: column "${name}" appears twice`);
      seen.add(name);
    }
    columns = fields;
  };

  return {
    read(line: string): LineParse {
      if (!columns) {
        // Parsed lazily, so a chunk without records never needs a header.
        if (options.header === undefined) {
          setHeader(line);
          return { kind: 'header' };
        }
        setHeader(options.header);
      }
      if (!columns) throw new Error('unreachable: CSV header not set');
      const fields = parseLine(line, delimiter);
      if (!Array.isArray(fields)) return { kind: 'rejected', code: 'csv-parse', reason: fields.reason };
      if (fields.length !== columns.length) {
        return { kind: 'rejected', code: 'csv-column-count', reason: `expected ${columns.length} columns, found ${fields.length}` };
      }
      const value: JsonObject = {};
      for (let c = 0; c < columns.length; c++) setField(value, columns[c], fields[c]);
      return { kind: 'record', value };
    },
  };
}

function parseLine(line: string, delimiter: string): string[] | { reason: string } {
  let rows: string[][];
  try {
    // The splitter already cut the line: '\n' never appears, so the whole line is one row.
    rows = parse(line, { delimiter, record_delimiter: '\n', relax_column_count: true, bom: false, skip_empty_lines: false });
  } catch (err) {
    return { reason: `invalid CSV: ${(err as Error).message}` };
  }
  if (rows.length !== 1) return { reason: `invalid CSV: the line holds ${rows.length} rows` };
  return rows[0];
}
