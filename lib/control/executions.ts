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
  /** Executions that continued this one (a long wait or listing), in order: the result is the last one's. */
  continuations?: string[];
}

/** The output of an execution that handed its work to a new execution of the same machine (infra/state-machines/pacing.ts). */
const continuedAs = (output: unknown): string | undefined => {
  const next = (output as { continuedAs?: unknown } | undefined)?.continuedAs;
  return typeof next === 'string' ? next : undefined;
};

/**
 * Starts an execution (always named: some emulators mint a broken ARN otherwise) and, unless
 * `wait` is false, polls until it ends, following the executions it continued as: the result is
 * the last one's, with the first one's name (a run's id). The same state machines run on AWS and locally.
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
  if (opts.wait === false) return { executionArn: executionArn as string, name, status: 'RUNNING', tookMs: Date.now() - started };
  return awaitExecution(sfn, executionArn as string, { ...opts, name, started });
}

/** Polls an execution, and the executions it continued as, until the last one ends (or `timeoutMs` passes). */
export async function awaitExecution(
  sfn: SFNClient,
  executionArn: string,
  opts: { name?: string; started?: number; pollMs?: number; timeoutMs?: number; onPoll?: (elapsedMs: number) => void } = {},
): Promise<ExecutionResult> {
  const started = opts.started ?? Date.now();
  const name = opts.name ?? executionArn.split(':').pop()!;
  let arn = executionArn;
  const deadline = started + (opts.timeoutMs ?? 24 * 3600 * 1000);
  const continuations: string[] = [];
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    const output = d.output ? (JSON.parse(d.output) as unknown) : undefined;
    const next = d.status === 'SUCCEEDED' ? continuedAs(output) : undefined;
    if (next) {
      continuations.push((arn = next));
      continue;
    }
    if (d.status !== 'RUNNING' || Date.now() > deadline) {
      return {
        executionArn: arn,
        name,
        status: d.status as ExecutionResult['status'],
        output,
        error: d.error,
        cause: d.cause,
        tookMs: Date.now() - started,
        ...(continuations.length ? { continuations } : {}),
      };
    }
    opts.onPoll?.(Date.now() - started);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}
