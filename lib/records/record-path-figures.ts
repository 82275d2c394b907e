/**
 * Bytes of JSON Lines one record worker (one core) takes through the record path per second —
 * split, validate, write, gzip-1 — as `npm run bench:processing` measured it on the 2-core
 * development machine (2026-11-30, load average ~1: gzip-1 100 MB/s, zstd-1 178 MB/s per core,
 * 0.98× and 0.97× a plain Node loop with the same codec in the same run). `plan` assumes it per
 * worker and `doctor` quotes it; measure your own records with the bench, or read BytesProcessed.
 */
export const RECORD_PATH_BYTES_PER_CORE = 100e6;
