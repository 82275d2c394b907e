import type { DeserializeHandler, DeserializeHandlerArguments, HandlerExecutionContext, MiddlewareStack } from '@smithy/types';
import { throttleService, type ThrottleService } from './throttling';

/** Anything with an SDK v3 middleware stack (a client, or a command). */
interface WithMiddleware {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  middlewareStack: MiddlewareStack<any, any>;
}

const MIDDLEWARE_NAME = 'shardlineThrottleCounter';

/**
 * Reports every throttling response a client receives, once per attempt: the middleware sits in
 * the deserialize step, inside the SDK's retry loop, so throttles that the SDK retried away are
 * counted too (they are the back pressure an operator wants to see). Adding it twice to the same
 * client replaces the first.
 */
export function countThrottles(client: WithMiddleware, service: ThrottleService, onThrottle: (service: ThrottleService, err: unknown, context: HandlerExecutionContext) => void): void {
  client.middlewareStack.addRelativeTo(
    (next: DeserializeHandler<object, object>, context: HandlerExecutionContext) => async (args: DeserializeHandlerArguments<object>) => {
      try {
        return await next(args);
      } catch (err) {
        const seen = throttleService(err, service);
        if (seen) {
          try {
            onThrottle(seen, err, context);
          } catch {
            // counting must never change what the caller sees
          }
        }
        throw err;
      }
    },
    { name: MIDDLEWARE_NAME, relation: 'before', toMiddleware: 'deserializerMiddleware', override: true },
  );
}
