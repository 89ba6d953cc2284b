/**
 * How queues are named, apart from the rest of the topology so that a function sending to a channel's
 * queue does not bundle the whole declaration.
 */
import type { Channel } from '../domain/content.ts';

/** A channel's outbound queue: its agent replies and provider actions, consumed by its sender. */
export const outboundQueueOf = <C extends Channel>(channel: C): `outbound-${C}` => `outbound-${channel}`;

/** The environment variable naming a queue's URL in AWS: `outbound-line` → `OUTBOUND_LINE_QUEUE_URL`. */
export const queueUrlVariable = (queue: string): string => `${queue.toUpperCase().replaceAll('-', '_')}_QUEUE_URL`;
