import { collectStatus } from '../../lib/observability/status';
import { resolveTarget, type TargetOptions } from '../../lib/aws/target';
import { renderStatus } from '../status';
import { watchStatus } from '../status-watch';

/** `shardline status`: each object's progress and the nodes, once (as tables or JSON) or as a live view. */
export async function status(opts: TargetOptions & { json?: boolean; watch?: boolean; interval?: number }): Promise<void> {
  if (opts.watch) return watchStatus(opts);
  const pipelineStatus = await collectStatus(await resolveTarget(opts));
  console.log(opts.json ? JSON.stringify(pipelineStatus, null, 2) : renderStatus(pipelineStatus));
}
