import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolveTarget, type Target, type TargetOptions } from '../../lib/aws/target';
import { createDatasetIndex, type DatasetDeps } from '../../lib/dataset/create-index';
import { formatIndex, type DatasetIndex, type IndexSource } from '../../lib/dataset/index-format';
import { listDatasets, readIndex, type DatasetSummary } from '../../lib/dataset/index-store';
import { formatBytes } from '../../lib/units';

const depsOf = (target: Target): DatasetDeps => ({ s3: target.clients.s3, doc: target.clients.doc, ...target.resources });

/** `shardline dataset index`: builds and stores the next version of an index (and writes it to --out). */
export async function datasetIndex(opts: TargetOptions & { run?: string; prefix?: string; objects?: string[]; name: string; out?: string; json?: boolean }): Promise<void> {
  const source = sourceOf(opts);
  const target = await resolveTarget(opts);
  const { index, key } = await createDatasetIndex(depsOf(target), { name: opts.name, source });
  if (opts.out) {
    await mkdir(dirname(opts.out), { recursive: true });
    await writeFile(opts.out, formatIndex(index));
  }
  const location = `s3://${target.resources.processedBucket}/${key}`;
  if (opts.json)
    console.log(
      JSON.stringify({ name: index.name, version: index.version, location, out: opts.out, records: index.records, shards: index.shards.length, objects: index.objects.length, bytes: index.bytes }),
    );
  else {
    console.log(`${index.name} version ${index.version}: ${index.records} records in ${index.shards.length} shards of ${index.objects.length} object(s), ${formatBytes(index.bytes)}`);
    console.log(`stored at ${location}${opts.out ? `, written to ${opts.out}` : ''}`);
  }
}

/** `shardline dataset list`: every dataset name, its versions, and its newest version's size. */
export async function datasetList(opts: TargetOptions & { json?: boolean }): Promise<void> {
  const target = await resolveTarget(opts);
  const datasets = await listDatasets({ s3: target.clients.s3, processedBucket: target.resources.processedBucket });
  if (opts.json) console.log(JSON.stringify(datasets, null, 2));
  else console.log(renderList(datasets));
}

/** `shardline dataset show NAME`: one version (the newest by default): lineage, counts, holders. */
export async function datasetShow(name: string, opts: TargetOptions & { version?: number; json?: boolean }): Promise<void> {
  const target = await resolveTarget(opts);
  const index = await readIndex({ s3: target.clients.s3, processedBucket: target.resources.processedBucket }, name, opts.version);
  if (opts.json) process.stdout.write(formatIndex(index));
  else console.log(renderIndex(index, target.resources.processedBucket));
}

/** Exactly one of --run, --prefix, --objects. */
export function sourceOf(opts: { run?: string; prefix?: string; objects?: string[] }): IndexSource {
  const given = [opts.run !== undefined, opts.prefix !== undefined, opts.objects !== undefined].filter(Boolean).length;
  if (given !== 1) throw new Error('give exactly one of --run RUN_ID, --prefix SOURCE_PREFIX or --objects KEY...');
  if (opts.run !== undefined) return { kind: 'run', runId: opts.run };
  if (opts.prefix !== undefined) return { kind: 'prefix', prefix: opts.prefix };
  return { kind: 'objects', objects: [...new Set(opts.objects)] };
}

export function renderList(datasets: DatasetSummary[]): string {
  if (datasets.length === 0) return 'no dataset indexes yet (shardline dataset index --help)';
  const rows = datasets.map((d) => [d.name, `v${d.latest.version}`, versionsOf(d.versions), String(d.latest.records), String(d.latest.shards), d.latest.createdAt, d.latest.source]);
  return table([['NAME', 'LATEST', 'VERSIONS', 'RECORDS', 'SHARDS', 'CREATED', 'SOURCE'], ...rows]);
}

export function renderIndex(index: DatasetIndex, processedBucket: string): string {
  const perNode = new Map<string, number>();
  for (const s of index.shards) for (const h of s.holders) perNode.set(h, (perNode.get(h) ?? 0) + 1);
  const unheld = index.shards.filter((s) => s.holders.length === 0).length;
  const source = index.source.kind === 'run' ? `run ${index.source.runId}` : index.source.kind === 'prefix' ? `prefix '${index.source.prefix}'` : `${index.source.objects.length} object key(s)`;
  const lines = [
    `${index.name} version ${index.version}  (s3://${processedBucket}/indexes/${index.name}/${index.version}.json)`,
    `created ${index.createdAt} from ${source}, config version ${index.configVersion}`,
    `${index.records} records in ${index.shards.length} shards, ${formatBytes(index.bytes)}`,
    `holders: ${[...perNode].map(([n, c]) => `${n} ${c}`).join(', ') || 'none'}${unheld ? ` (${unheld} shard(s) on no node: read from S3)` : ''}`,
    '',
    table([['SOURCE OBJECT', 'VERSION', 'ETAG', 'RECORDS', 'OBJECT ID'], ...index.objects.map((o) => [`s3://${o.bucket}/${o.key}`, o.versionId ?? '-', o.etag, String(o.records), o.objectId])]),
  ];
  return lines.join('\n');
}

/** `1-3, 5`. */
function versionsOf(versions: number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < versions.length;) {
    let j = i;
    while (j + 1 < versions.length && versions[j + 1] === versions[j] + 1) j++;
    runs.push(i === j ? `${versions[i]}` : `${versions[i]}-${versions[j]}`);
    i = j + 1;
  }
  return runs.join(',');
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}
