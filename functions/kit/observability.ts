/**
 * What every handler reports through, whatever runs it: a structured log with correlation ids, counters per
 * channel, and the middlewares that carry them. In Lambda these are Powertools for AWS Lambda (structured JSON
 * logs with the request's context, EMF metrics, X-Ray traces: `adapters/aws/powertools.ts`); in the local
 * runtime, its readable log and in-memory counters.
 */
import type middy from '@middy/core';
import type { Channel } from '../../domain/content.ts';
import type { Log } from '../../domain/ports.ts';

/** The counters Parley keeps, each per channel. */
export const METRICS = [
  'WebhooksAccepted',
  'WebhooksRejected',
  'EventsPublished',
  'MessagesReceived',
  'MessagesSent',
  'MessagesFailed',
  'MessagesRetried',
  'DomainEventsPublished',
] as const;
export type MetricName = (typeof METRICS)[number];

export interface Metrics {
  count(name: MetricName, channel?: Channel, value?: number): void;
  /** How long the oldest record of a batch waited in its queue, in milliseconds. */
  queueAge(queue: string, milliseconds: number): void;
}

export interface Observability {
  readonly log: Log;
  readonly metrics: Metrics;
  /** Applied around every handler (Powertools' logger context, metrics flush and tracing in Lambda). */
  readonly middlewares: readonly middy.MiddlewareObj[];
}

/** A log whose every entry carries these keys (correlation ids: provider event id, thread and message ids). */
export const withKeys = (log: Log, keys: Readonly<Record<string, unknown>>): Log => ({
  debug: (message, extra) => log.debug(message, { ...keys, ...extra }),
  info: (message, extra) => log.info(message, { ...keys, ...extra }),
  warn: (message, extra) => log.warn(message, { ...keys, ...extra }),
  error: (message, extra) => log.error(message, { ...keys, ...extra }),
});

/** Counters kept in memory (the local runtime and tests), readable as totals. */
export const memoryMetrics = (): Metrics & { readonly totals: Map<string, number> } => {
  const totals = new Map<string, number>();
  return {
    totals,
    count: (name, channel, value = 1) => {
      const key = channel === undefined ? name : `${name}/${channel}`;
      totals.set(key, (totals.get(key) ?? 0) + value);
    },
    queueAge: (queue, milliseconds) => totals.set(`QueueAge/${queue}`, Math.max(totals.get(`QueueAge/${queue}`) ?? 0, milliseconds)),
  };
};

/** Observability for code that has only a log (tests, scripts). */
export const logOnly = (log: Log): Observability => ({ log, metrics: memoryMetrics(), middlewares: [] });
