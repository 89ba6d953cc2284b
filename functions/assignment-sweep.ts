/**
 * The assignment sweep, every minute: assignments whose answer deadline passed unanswered go back to the
 * queue, and one pass over the queue assigns what can be assigned. Assignment itself is driven by events (the
 * assigner); this catches what only time changes: a deadline passing, a team's business hours opening.
 */
import type { Context } from 'aws-lambda';
import { drain, expireUnanswered } from '../domain/routing/assigner.ts';
import { systemClock } from '../domain/ports.ts';
import { awsConversations, awsRouting } from '../adapters/aws/deps.ts';
import type { Deps } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';

export const create = (deps: Pick<Deps, 'conversations' | 'routing' | 'clock' | 'observability'>) => {
  const { log } = deps.observability;
  const routing = { routing: deps.routing, conversations: deps.conversations, clock: deps.clock, log };
  return lambda<unknown, { readonly requeued: number; readonly assigned: number }>(async () => {
    const timeouts = await expireUnanswered(routing);
    const assigned = await drain(routing);
    if (timeouts.requeued + assigned > 0) log.info('assignment sweep', { ...timeouts, assigned });
    return { requeued: timeouts.requeued, assigned };
  }, deps.observability);
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: unknown, context: Context) =>
  (wired ??= create({ conversations: awsConversations(), routing: awsRouting(), clock: systemClock, observability: awsObservability() }))(
    event,
    context,
  );
