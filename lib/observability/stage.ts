/** The environment variable naming the deployment stage: the `Stage` dimension of every metric. */
export const STAGE_ENV_VAR = 'SHARDLINE_STAGE';

/** The stage metrics are published under: `SHARDLINE_STAGE`, else `local`. */
export function stageFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env[STAGE_ENV_VAR]?.trim() || 'local';
}
