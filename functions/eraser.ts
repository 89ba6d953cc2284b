/**
 * Erases a contact's messages after `contact.erased` (domain/conversations/erasure.ts): the bus rule puts the
 * event on the erasure queue; each job erases one page and queues the next, so long threads are erased within
 * the function's time limit.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { DomainEventSchemas } from '../domain/events/domain-events.ts';
import { eraseMessages, ErasureJobSchema, type ErasureJob } from '../domain/conversations/erasure.ts';
import { systemClock } from '../domain/ports.ts';
import { awsConversations, awsMediaStore, awsQueue } from '../adapters/aws/deps.ts';
import { queueUrlVariable } from '../topology/queue-names.ts';
import { detailOf, type Deps } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';
import { withKeys } from './kit/observability.ts';
import { sqsBatch } from './kit/sqs.ts';

/** A job: the `contact.erased` event itself (the first page), or the next page's job. */
const jobOf = async (record: SQSRecord, deps: Pick<Deps, 'conversations'>): Promise<ErasureJob | undefined> => {
  const body = detailOf(JSON.parse(record.body));
  const next = ErasureJobSchema.safeParse(body);
  if (next.success) return next.data;
  const erased = DomainEventSchemas['contact.erased'].parse(body);
  const contact = await deps.conversations.getContact(erased.data.contactId);
  if (!contact) return undefined;
  const thread = await deps.conversations.getThread(contact.value.threadId);
  const threadIds = thread ? [thread.value.id, ...(thread.value.mergedThreads ?? [])] : [];
  return threadIds.length > 0 ? { kind: 'erase-messages', contactId: erased.data.contactId, threadIds } : undefined;
};

export const create = (deps: Pick<Deps, 'conversations' | 'media' | 'clock' | 'observability' | 'queue'>) => {
  const queue = deps.queue('erasure');
  const handle = async (record: SQSRecord) => {
    const job = await jobOf(record, deps);
    if (!job) return;
    const next = await eraseMessages(job, {
      store: deps.conversations,
      media: deps.media,
      clock: deps.clock,
      log: withKeys(deps.observability.log, { contactId: job.contactId }),
    });
    if (next) await queue.send(next);
  };
  return lambda<SQSEvent, Awaited<ReturnType<ReturnType<typeof sqsBatch>>>>(
    (event, context) => sqsBatch(handle)(event, context),
    deps.observability,
  );
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: SQSEvent, context: Context) =>
  (wired ??= create({
    conversations: awsConversations(),
    media: awsMediaStore(),
    clock: systemClock,
    observability: awsObservability(),
    queue: (name) => awsQueue(queueUrlVariable(name)),
  }))(event, context);
