import { ConfigStore } from '../control/config-store';
import type { ObjectItem } from '../ledger/items';
import type { RunIndexOutcome, RunItem, RunMember } from '../ledger/run-ledger';
import { assembleIndex, checkIndexable, IndexRefusedError, type IndexInput } from './build-index';
import { presentHolders } from './holders';
import { checkDatasetName, describeSource, type DatasetIndex, type IndexSource } from './index-format';
import { indexSummary, indexVersions, publishIndex } from './index-store';
import { runMembersToObjects, selectObjects, withManifests, type DatasetDeps } from './select-objects';

export type { DatasetDeps } from './select-objects';

/** A stored index version. */
export interface PublishedIndex {
  index: DatasetIndex;
  /** Its key in the processed bucket. */
  key: string;
}

/**
 * Builds and stores the next version of dataset `name` from the COMPLETE objects `source` names:
 * a finished run's members, the newest object of every source key under a prefix, or the newest
 * object of each given key. Refuses ({@link IndexRefusedError}) when nothing matches or any
 * object is not COMPLETE or unbalanced; nothing is stored then.
 */
export async function createDatasetIndex(deps: DatasetDeps, request: { name: string; source: IndexSource; now?: () => Date }): Promise<PublishedIndex> {
  checkDatasetName(request.name);
  return indexObjects(deps, request, await selectObjects(deps, request.source));
}

/**
 * The leader's part when it settles a run that asked for an index (`run.index.name`): indexes
 * the run's members. If the newest version of that name was already built from this run (a
 * leader that stored it and died before settling), that version is returned instead of a copy.
 * A refusal (a bad name, an object that is not indexable) resolves with the reason; any other
 * failure rejects, so the leader tries again on its next sweep.
 */
export async function buildRunIndex(deps: DatasetDeps, run: RunItem, members: RunMember[], objects: ReadonlyMap<string, ObjectItem>): Promise<RunIndexOutcome> {
  const name = String(run.index?.name ?? '');
  try {
    checkDatasetName(name);
  } catch (err) {
    return { name, error: (err as Error).message };
  }
  const source: IndexSource = { kind: 'run', runId: run.runId };
  const newest = (await indexVersions(deps, name)).pop();
  if (newest !== undefined) {
    const summary = await indexSummary(deps, name, newest);
    if (summary.source === describeSource(source)) return { name, version: newest, key: summary.key };
  }
  try {
    const inputs = await withManifests(deps, runMembersToObjects(members, objects));
    const { index, key } = await indexObjects(deps, { name, source }, inputs);
    return { name, version: index.version, key };
  } catch (err) {
    if (err instanceof IndexRefusedError) return { name, error: err.message };
    throw err;
  }
}

async function indexObjects(deps: DatasetDeps, request: { name: string; source: IndexSource; now?: () => Date }, inputs: IndexInput[]): Promise<PublishedIndex> {
  checkIndexable(request.source, inputs); // before reading holders: a refusal costs no more requests
  const [holders, config] = await Promise.all([presentHolders(deps, inputs), new ConfigStore(deps.doc, deps.controlTable).get()]);
  return publishIndex(deps, request.name, (version) =>
    assembleIndex({
      name: request.name,
      version,
      createdAt: (request.now?.() ?? new Date()).toISOString(),
      source: request.source,
      configVersion: config.version,
      processedBucket: deps.processedBucket,
      inputs,
      presentHolders: holders,
    }),
  );
}
