/**
 * What the shardline package exports: the `Shardline` construct to add to a CDK app, its props,
 * and the stage config types and helpers. `infra/app.ts` is this repo's own app, not exported.
 */
export { Shardline } from './shardline';
export { resolveStageConfig, type ShardlineProps } from './shardline-props';
export { defaultStageConfig, validateStageConfig, type ChunkerConfig, type FleetConfig, type StageConfig, type WorkQueueConfig } from './config';
export type { PipelineConfig } from '../lib/config/pipeline-config';
export { DataSources, type DataSourceResources, type DataSourcesProps } from './constructs/data-sources';
export {
  dataSourceErrors,
  dataSourcePrefix,
  type DataSourceConfig,
  type EfsSourceConfig,
  type FsxLustreSourceConfig,
  type FsxOntapSourceConfig,
  type FsxOpenZfsSourceConfig,
  type FsxWindowsSourceConfig,
  type HdfsKerberosAuth,
  type HdfsSimpleAuth,
  type HdfsSourceConfig,
  type NfsSourceConfig,
} from './data-source-config';
