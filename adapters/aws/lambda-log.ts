/**
 * The Log port on Lambda's own structured logging. The functions run with the JSON log format, so Lambda
 * wraps each entry with timestamp, level and request id, filters by the configured application log level,
 * and keeps the object we pass as the entry's `message`. No logging library needed in the bundle.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html
 */
import type { Log } from '../../domain/ports.ts';

const entry = (message: string, extra?: Record<string, unknown>) => ({ message, ...extra });

export const lambdaLog = (): Log => ({
  debug: (message, extra) => console.debug(entry(message, extra)),
  info: (message, extra) => console.info(entry(message, extra)),
  warn: (message, extra) => console.warn(entry(message, extra)),
  error: (message, extra) => console.error(entry(message, extra)),
});
