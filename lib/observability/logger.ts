import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../log';

/**
 * The one place that sets up structured JSON logging, for Lambdas and agents alike: service
 * name, log level from `SHARDLINE_LOG_LEVEL` (or Powertools' `POWERTOOLS_LOG_LEVEL`), and
 * persistent correlation keys such as the node id.
 */
export function createLogger(serviceName: string, persistentKeys: Record<string, string> = {}): Logger {
  const level = (process.env.SHARDLINE_LOG_LEVEL ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO').toUpperCase();
  return new Logger({
    serviceName,
    logLevel: level as 'INFO',
    persistentKeys: { app: 'shardline', ...persistentKeys },
  });
}

/** A {@link Log} callback that writes to `logger`. */
export function logTo(logger: Logger): Log {
  return (level, message, fields) => logger[level](message, fields ?? {});
}
