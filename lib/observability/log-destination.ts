import type { Logger } from '@aws-lambda-powertools/logger';
import { Console } from 'node:console';

/**
 * Sends `logger`'s records to `stream` instead of stdout, until the returned function restores
 * the previous destination. Local mode uses it to give the in-process chunker Lambda its own log
 * file, like the agents have. Powertools 2.x has no option for another destination: it writes
 * through a private `Console` bound to stdout at construction, which is swapped here (and its
 * `trace` is routed to `log`, as Powertools does itself).
 */
export function redirectLogger(logger: Logger, stream: NodeJS.WritableStream): () => void {
  const target = logger as unknown as { console: Console };
  const previous = target.console;
  const console = new Console({ stdout: stream, stderr: stream });
  console.trace = (message?: unknown, ...rest: unknown[]) => console.log(message, ...rest);
  target.console = console;
  return () => {
    if (target.console === console) target.console = previous;
  };
}
