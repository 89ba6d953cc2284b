/**
 * The second half of erasing a contact: its messages' content and media, page by page, after
 * `contact.erased`. What stays of a message is that it existed (direction, channel, times, status), for
 * metrics. Each page is its own job, so a thread of any length is erased within the worker's time limit, and
 * a job repeated after a crash finds its page already erased.
 */
import * as z from 'zod';
import type { Content } from '../content.ts';
import { mediaOf } from '../media.ts';
import type { Log, MediaStore } from '../ports.ts';
import { retryOnConflict } from '../shared/store.ts';
import { later } from '../shared/time.ts';
import type { ConversationStore, StoredMessage } from './ports.ts';

export const ErasureJobSchema = z.object({
  kind: z.literal('erase-messages'),
  contactId: z.string().min(1),
  threadIds: z.array(z.string().min(1)).min(1),
  cursor: z.string().optional(),
});
export type ErasureJob = z.infer<typeof ErasureJobSchema>;

/** What an erased message's content becomes. */
export const ERASED_CONTENT: Content = { type: 'unsupported', providerType: 'erased' };

/** Messages erased per job. */
const PAGE = 50;

export interface ErasureDeps {
  readonly store: ConversationStore;
  readonly media: MediaStore;
  readonly log: Log;
  readonly clock: { now(): Date };
}

/** The message without anything personal: content, edits, media, who wrote it and what it answered. */
export const erasedMessage = (message: StoredMessage): StoredMessage => {
  const { history: _history, mediaCopy: _media, replyTo: _replyTo, failure: _failure, ...rest } = message;
  return { ...rest, content: ERASED_CONTENT, author: { role: message.author.role } };
};

/** Erases one page of messages and the threads' routes; returns the next job, if there is more. */
export const eraseMessages = async (job: ErasureJob, deps: ErasureDeps): Promise<ErasureJob | undefined> => {
  if (job.cursor === undefined) {
    // First page: the threads' channel routes (conversation ids, reply handles) go too.
    const at = deps.clock.now().toISOString();
    for (const threadId of job.threadIds) {
      await retryOnConflict(async () => {
        const thread = await deps.store.getThread(threadId);
        if (!thread || (thread.value.routes.length === 0 && Object.keys(thread.value.attributes).length === 0)) return;
        await deps.store.commit([
          {
            kind: 'thread',
            op: 'put',
            value: { ...thread.value, routes: [], attributes: {}, updatedAt: later(thread.value.updatedAt, at) },
            version: thread.version,
          },
        ]);
      });
    }
  }
  const page = await deps.store.listMessages(job.threadIds, PAGE, job.cursor);
  for (const message of page.items) {
    const media = mediaOf(message.content);
    if (message.mediaCopy) await deps.media.delete(message.mediaCopy.key);
    if (message.content.type === ERASED_CONTENT.type && !media && message.author.externalUserId === undefined) continue;
    await retryOnConflict(async () => {
      const current = await deps.store.getMessage(message.threadId, message.id);
      if (!current) return;
      const erased = erasedMessage(current.value);
      if (JSON.stringify(erased) === JSON.stringify(current.value)) return;
      await deps.store.commit([{ kind: 'message', op: 'put', value: erased, version: current.version }]);
    });
  }
  deps.log.info('messages erased', { contactId: job.contactId, count: page.items.length, more: page.nextCursor !== undefined });
  return page.nextCursor === undefined ? undefined : { ...job, cursor: page.nextCursor };
};
