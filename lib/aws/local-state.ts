import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PipelineConfig } from '../config/pipeline-config';
import type { ResourceNames } from '../resources';

/**
 * What `<stateDir>/local.json` holds, written by `shardline local up`: everything a client needs to
 * reach the local pipeline (the endpoint, the resources, the agents and their log files).
 */
export interface LocalState {
  endpoint: string;
  region: string;
  resources: ResourceNames;
  config: PipelineConfig;
  agents: Array<{ nodeId: string; failureDomain: string; cacheDir: string; logFile: string; pid?: number }>;
  /** JSON log lines of the in-process chunker (absent in state files of older versions). */
  chunkerLogFile?: string;
  stateDir: string;
  startedAt: string;
}

/** The in-process chunker's log file in the state directory, beside `agents/<node>/agent.log`. */
export const CHUNKER_LOG_FILE = 'chunker.log';

const stateFile = (stateDir: string) => join(resolve(stateDir), 'local.json');

/** Reads `<stateDir>/local.json`, written by `shardline local up`. */
export async function readLocalState(stateDir = '.shardline'): Promise<LocalState> {
  const path = stateFile(stateDir);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LocalState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`no local environment found (${path} is missing): start one with 'npx shardline local up'`, { cause: err });
    }
    throw err;
  }
}

/** Writes `<stateDir>/local.json`. */
export async function writeLocalState(state: LocalState): Promise<void> {
  await writeFile(stateFile(state.stateDir), JSON.stringify(state, null, 2));
}
