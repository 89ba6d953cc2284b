/**
 * How queues are named, apart from the rest of the topology so that a function sending to a channel's
 * queue does not bundle the whole declaration.
 */
import type { Channel } from '../domain/content.ts';
import { channelOfJob, laneOfJob, type OutboundJob } from '../domain/delivery/outbound.ts';

/** A channel's outbound queue: its agent replies and provider actions, consumed by its sender. */
export const outboundQueueOf = <C extends Channel>(channel: C): `outbound-${C}` => `outbound-${channel}`;

/**
 * A channel's proactive queue: notifications and campaign messages, consumed by the channel's paced proactive
 * sender, so a campaign never stands between a waiting customer and the agent's reply.
 */
export const proactiveQueueOf = <C extends Channel>(channel: C): `proactive-${C}` => `proactive-${channel}`;

/** The queue an outbound job goes to: its channel's, on its lane. */
export const queueOfJob = (job: OutboundJob): `outbound-${Channel}` | `proactive-${Channel}` => {
  const channel = channelOfJob(job);
  return laneOfJob(job) === 'proactive' ? proactiveQueueOf(channel) : outboundQueueOf(channel);
};

/** The environment variable naming a queue's URL in AWS: `outbound-line` → `OUTBOUND_LINE_QUEUE_URL`. */
export const queueUrlVariable = (queue: string): string => `${queue.toUpperCase().replaceAll('-', '_')}_QUEUE_URL`;
