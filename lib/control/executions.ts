import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { randomUUID } from 'node:crypto';

/** How one execution of a shardline state machine ended. */
export interface ExecutionResult {
  executionArn: string;
  name: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'RUNNING';
  output?: unknown;
  error?: string;
  cause?: string;
  /** Milliseconds from StartExecution until the result was seen. */
  tookMs: number;
}

/**
 * Starts an execution (always named: some emulators mint a broken ARN otherwise) and, unless
 * `wait` is false, polls until it ends. The same state machines run on AWS and locally.
 */
export async function startExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  input: Record<string, unknown>,
  opts: { name?: string; wait?: boolean; pollMs?: number; timeoutMs?: number; onPoll?: (elapsedMs: number) => void } = {},
): Promise<ExecutionResult> {
  const started = Date.now();
  const name = opts.name ?? `${String(input.action ?? 'run')}-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  const arn = executionArn as string;
  if (opts.wait === false) return { executionArn: arn, name, status: 'RUNNING', tookMs: Date.now() - started };
  const deadline = started + (opts.timeoutMs ?? 24 * 3600 * 1000);
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    if (d.status !== 'RUNNING' || Date.now() > deadline) {
      return {
        executionArn: arn,
        name,
        status: d.status as ExecutionResult['status'],
        output: d.output ? JSON.parse(d.output) : undefined,
        error: d.error,
        cause: d.cause,
        tookMs: Date.now() - started,
      };
    }
    opts.onPoll?.(Date.now() - started);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}
