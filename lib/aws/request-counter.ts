import type { FinalizeHandler, FinalizeHandlerArguments, HandlerExecutionContext, MiddlewareStack } from '@smithy/types';

/** Anything with an SDK v3 middleware stack (a client, or a command). */
interface WithMiddleware {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  middlewareStack: MiddlewareStack<any, any>;
}

/** One request as the counter saw it: which operation, when it was sent and when its answer came. */
export interface CountedRequest {
  /** e.g. `DynamoDB.UpdateItem`, `SQS.ReceiveMessage`. */
  operation: string;
  startedAt: number;
  endedAt?: number;
  /** The DynamoDB table the request names, if it names one. */
  table?: string;
}

const MIDDLEWARE_NAME = 'shardlineRequestCounter';

/**
 * Counts the requests SDK clients send, by operation, with their start and end times: the
 * control plane's request budget (idle requests per node-second, requests and sequential round
 * trips per chunk) is measured with it. The middleware sits in the finalize step ahead of the
 * retry middleware, so a call the SDK retried counts once. Adding it to a client twice replaces the first.
 */
export class RequestCounter {
  readonly requests: CountedRequest[] = [];
  constructor(private readonly now: () => number = Date.now) {}

  /** Adds the counting middleware to a client (S3, SQS, DynamoDB, a document client's inner client, CloudWatch). */
  attach(client: WithMiddleware, service: string): this {
    client.middlewareStack.addRelativeTo(
      (next: FinalizeHandler<object, object>, context: HandlerExecutionContext) => async (args: FinalizeHandlerArguments<object>) => {
        const table = (args.input as { TableName?: unknown } | undefined)?.TableName;
        const request: CountedRequest = { operation: `${service}.${operationOf(context)}`, startedAt: this.now(), ...(typeof table === 'string' ? { table } : {}) };
        this.requests.push(request);
        try {
          return await next(args);
        } finally {
          request.endedAt = this.now();
        }
      },
      { name: MIDDLEWARE_NAME, relation: 'before', toMiddleware: 'retryMiddleware', override: true },
    );
    return this;
  }

  /** Requests counted in [since, until), by operation (and table, given `tables`: e.g. `DynamoDB.Scan nodes`). */
  byOperation(since = 0, until = Infinity, tables: Record<string, string> = {}): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.requests) {
      if (r.startedAt < since || r.startedAt >= until) continue;
      const key = r.table && tables[r.table] ? `${r.operation} ${tables[r.table]}` : r.operation;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** How many requests were sent in [since, until). */
  count(since = 0, until = Infinity): number {
    return this.requests.filter((r) => r.startedAt >= since && r.startedAt < until).length;
  }

  /** Forgets every request counted so far. */
  reset(): void {
    this.requests.length = 0;
  }
}

/**
 * The longest chain of requests that ran one after another: requests are in turn when one
 * started after the other ended; overlapping requests count once. Its length is the number of
 * round trips a piece of work waited on in turn (its critical path), given that work's requests alone.
 */
export function longestChain(requests: readonly CountedRequest[]): CountedRequest[] {
  const sorted = requests.filter((r) => r.endedAt !== undefined).sort((a, b) => (a.endedAt as number) - (b.endedAt as number));
  // chain[i]: the longest chain ending with request i.
  const chain: CountedRequest[][] = [];
  let longest: CountedRequest[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let best: CountedRequest[] = [];
    for (let j = 0; j < i; j++) if ((sorted[j].endedAt as number) <= sorted[i].startedAt && chain[j].length > best.length) best = chain[j];
    chain.push([...best, sorted[i]]);
    if (chain[i].length > longest.length) longest = chain[i];
  }
  return longest;
}

/** The number of round trips in the longest chain (see `longestChain`). */
export function sequentialRoundTrips(requests: readonly CountedRequest[]): number {
  return longestChain(requests).length;
}

function operationOf(context: HandlerExecutionContext): string {
  const name = context.commandName ?? 'Unknown';
  return name.endsWith('Command') ? name.slice(0, -'Command'.length) : name;
}
