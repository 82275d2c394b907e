import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { Log } from '../log';

/** The Auto Scaling termination hook holding this instance while its agent drains. */
export interface LifecycleHookRef {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  instanceId: string;
}

/** The hook from `SHARDLINE_ASG_NAME` and `SHARDLINE_LIFECYCLE_HOOK` (set by the fleet), when both are set and the node is an instance. */
export function lifecycleHookOf(env: NodeJS.ProcessEnv, instanceId: string | undefined): LifecycleHookRef | undefined {
  const autoScalingGroupName = env.SHARDLINE_ASG_NAME;
  const lifecycleHookName = env.SHARDLINE_LIFECYCLE_HOOK;
  return autoScalingGroupName && lifecycleHookName && instanceId ? { autoScalingGroupName, lifecycleHookName, instanceId } : undefined;
}

/**
 * Tells Auto Scaling that the instance may go now (CONTINUE), once the agent has drained and
 * handed off its replicas, instead of leaving it to the hook's heartbeat timeout. Never throws:
 * a failure is logged and the timeout ends the wait. Returns whether the call succeeded.
 */
export async function completeLifecycleAction(client: Pick<AutoScalingClient, 'send'>, hook: LifecycleHookRef, log: Log): Promise<boolean> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK package is loaded only on the one drain that needs it
  const { CompleteLifecycleActionCommand } = require('@aws-sdk/client-auto-scaling') as typeof import('@aws-sdk/client-auto-scaling');
  try {
    await client.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: hook.autoScalingGroupName,
        LifecycleHookName: hook.lifecycleHookName,
        InstanceId: hook.instanceId,
        LifecycleActionResult: 'CONTINUE',
      }),
    );
    log('info', 'lifecycle action completed: the instance may terminate', { ...hook });
    return true;
  } catch (err) {
    log('warn', 'could not complete the lifecycle action; Auto Scaling waits for its timeout', { ...hook, error: (err as Error).message });
    return false;
  }
}
