/**
 * Threads: the inbox (list by status, channel, contact, assignee, tag, activity), one thread, its status,
 * tags and attributes, and its internal notes.
 */
import * as z from 'zod';
import { ChannelSchema } from '../../domain/content.ts';
import {
  AttributesSchema,
  NoteSchema,
  TagSchema,
  ThreadSchema,
  ThreadStatusSchema,
  THREAD_STATUSES,
} from '../../domain/conversations/model.ts';
import type { ConversationStore, StoredThread } from '../../domain/conversations/ports.ts';
import { changeLabels, changeStatus, publicThread, type ThreadChange } from '../../domain/conversations/threads.ts';
import { freshEvent, onceEvent } from '../../domain/events/outbox.ts';
import { deterministicId, randomId } from '../../domain/ids.ts';
import { ConflictError, NEW_RECORD, retryOnConflict, type Versioned } from '../../domain/shared/store.ts';
import { IsoInstantSchema, millis } from '../../domain/shared/time.ts';
import { ApiError } from '../errors.ts';
import { CursorSchema, json, jsonBody, jsonResponse, LimitSchema, pageSchema, route, type ApiContext } from '../kit.ts';
import type { Api, ApiDeps } from '../deps.ts';

export const ThreadPageSchema = pageSchema(ThreadSchema, 'ThreadPage', 'Newest activity first');
export const ThreadParams = z.object({ threadId: z.string().min(1).max(200).describe('A thread id') });

const StatusListSchema = z
  .string()
  .transform((value) => value.split(',').map((s) => s.trim()))
  .pipe(z.array(ThreadStatusSchema).min(1))
  .describe(`One status or several, comma-separated: ${THREAD_STATUSES.join(', ')}`);

const ThreadListQuerySchema = z.object({
  status: StatusListSchema.optional(),
  channel: ChannelSchema.optional().describe('Threads that have seen this channel'),
  contactId: z.string().min(1).max(200).optional().describe("The contact's thread"),
  assignee: z.string().min(1).max(200).optional().describe('An agent id, or `none` for unassigned threads'),
  tag: TagSchema.optional(),
  updatedSince: IsoInstantSchema.optional().describe('Only threads changed at or after this instant (ISO 8601)'),
  externalUserId: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe('With `channel`: the threads this person took part in (their own, and groups they wrote in)'),
  limit: LimitSchema,
  cursor: CursorSchema,
});

const UpdateThreadRequestSchema = z
  .strictObject({
    status: ThreadStatusSchema.optional(),
    snoozedUntil: IsoInstantSchema.optional().describe('With status `snoozed`: when it opens again by itself'),
    tags: z.array(TagSchema).max(50).optional().describe('Replaces the tags'),
    addTags: z.array(TagSchema).max(50).optional(),
    removeTags: z.array(TagSchema).max(50).optional(),
    attributes: AttributesSchema.optional().describe('Sets these attributes; `null` removes one'),
  })
  .refine((r) => Object.keys(r).length > 0, { message: 'must change something' })
  .meta({ id: 'UpdateThreadRequest' });

const NotePageSchema = pageSchema(NoteSchema, 'NotePage', 'Oldest first');
const CreateNoteRequestSchema = z.strictObject({ text: NoteSchema.shape.text }).meta({ id: 'CreateNoteRequest' });

const listThreads = route({
  method: 'get',
  path: '/v1/threads',
  operationId: 'listThreads',
  summary: 'The inbox: threads by status, channel, contact, assignee, tag and activity',
  tags: ['threads'],
  scope: 'read',
  errors: ['invalid_request', 'invalid_cursor'],
  request: { query: ThreadListQuerySchema },
  responses: { 200: jsonResponse(ThreadPageSchema, 'Newest activity first') },
});

const getThread = route({
  method: 'get',
  path: '/v1/threads/{threadId}',
  operationId: 'getThread',
  summary: 'One thread',
  tags: ['threads'],
  scope: 'read',
  errors: ['not_found'],
  request: { params: ThreadParams },
  responses: { 200: jsonResponse(ThreadSchema, 'The thread') },
});

const updateThread = route({
  method: 'patch',
  path: '/v1/threads/{threadId}',
  operationId: 'updateThread',
  summary: "Change a thread's status (snooze until a time), tags or attributes",
  tags: ['threads'],
  scope: 'write',
  errors: ['not_found', 'invalid_request', 'invalid_status_change'],
  request: { params: ThreadParams, body: jsonBody(UpdateThreadRequestSchema) },
  responses: { 200: jsonResponse(ThreadSchema, 'The thread as changed') },
});

const listNotes = route({
  method: 'get',
  path: '/v1/threads/{threadId}/notes',
  operationId: 'listNotes',
  summary: "A thread's internal notes (never sent to the customer)",
  tags: ['threads'],
  scope: 'read',
  errors: ['not_found', 'invalid_cursor'],
  request: { params: ThreadParams, query: z.object({ limit: LimitSchema, cursor: CursorSchema }) },
  responses: { 200: jsonResponse(NotePageSchema, 'Oldest first') },
});

const createNote = route({
  method: 'post',
  path: '/v1/threads/{threadId}/notes',
  operationId: 'createNote',
  summary: 'Add an internal note to a thread',
  tags: ['threads'],
  scope: 'write',
  errors: ['not_found', 'invalid_request'],
  request: { params: ThreadParams, body: jsonBody(CreateNoteRequestSchema) },
  responses: { 201: jsonResponse(NoteSchema, 'The note') },
});

/** A thread, or 404. A merged thread is shown as it is (`mergedInto` names where its history now lives). */
export const findThread = async (store: ConversationStore, threadId: string): Promise<Versioned<StoredThread>> => {
  const thread = await store.getThread(threadId);
  if (!thread) throw new ApiError('not_found', `No thread ${threadId}`);
  return thread;
};

/** The thread a reply or change goes to: the one named, or the one it was merged into. */
export const liveThreadOf = async (store: ConversationStore, threadId: string): Promise<Versioned<StoredThread>> => {
  let thread = await findThread(store, threadId);
  for (let hops = 0; thread.value.mergedInto !== undefined && hops < 10; hops++) thread = await findThread(store, thread.value.mergedInto);
  return thread;
};

/** Applies a change decided by the domain, with `thread.updated` when it is news. */
export const commitThreadChange = async (
  store: ConversationStore,
  threadId: string,
  decide: (thread: StoredThread) => ThreadChange,
  at: string,
): Promise<StoredThread> =>
  retryOnConflict(async () => {
    const current = await liveThreadOf(store, threadId);
    const change = decide(current.value);
    if (!change.changed) return current.value;
    await store.commit([
      {
        kind: 'thread',
        op: 'put',
        value: change.thread,
        version: current.version,
        ...(change.changes.length > 0 && { events: [freshEvent('thread.updated', at, { changes: change.changes })] }),
      },
    ]);
    return change.thread;
  });

export const registerThreadRoutes = (app: Api, deps: ApiDeps): void => {
  const store = deps.conversations;

  app.openapi(listThreads, async (c) => {
    const query = c.req.valid('query');
    if (query.externalUserId !== undefined) {
      if (query.channel === undefined) throw new ApiError('invalid_request', 'externalUserId goes with channel');
      return json(c, 200, await threadsOfPerson(deps, query.channel, query.externalUserId, query.status)) as never;
    }
    const page = await store.listThreads({
      ...(query.status && { statuses: query.status }),
      ...(query.channel && { channel: query.channel }),
      ...(query.contactId && { contactId: query.contactId }),
      ...(query.assignee && { assignee: query.assignee }),
      ...(query.tag && { tag: query.tag }),
      ...(query.updatedSince && { updatedSince: query.updatedSince }),
      limit: query.limit,
      ...(query.cursor && { cursor: query.cursor }),
    });
    return json(c, 200, { items: page.items.map(publicThread), ...(page.nextCursor && { nextCursor: page.nextCursor }) }) as never;
  });

  app.openapi(getThread, async (c) => json(c, 200, publicThread((await findThread(store, c.req.valid('param').threadId)).value)) as never);

  app.openapi(updateThread, async (c) => {
    const { threadId } = c.req.valid('param');
    const input = c.req.valid('json');
    const at = deps.clock.now().toISOString();
    const thread = await commitThreadChange(
      store,
      threadId,
      (current) => {
        let change: ThreadChange = { thread: current, changes: [], changed: false };
        if (input.status !== undefined || input.snoozedUntil !== undefined) {
          change = changeStatus(current, input.status ?? current.status, at, input.snoozedUntil);
        }
        if (input.tags !== undefined || input.addTags !== undefined || input.removeTags !== undefined || input.attributes !== undefined) {
          const labels = changeLabels(
            change.thread,
            {
              ...(input.tags && { tags: input.tags }),
              ...(input.addTags && { addTags: input.addTags }),
              ...(input.removeTags && { removeTags: input.removeTags }),
              ...(input.attributes && { attributes: input.attributes }),
            },
            at,
          );
          change = { thread: labels.thread, changes: [...change.changes, ...labels.changes], changed: change.changed || labels.changed };
        }
        return change;
      },
      at,
    );
    return json(c, 200, publicThread(thread)) as never;
  });

  app.openapi(listNotes, async (c) => {
    const { threadId } = c.req.valid('param');
    const { limit, cursor } = c.req.valid('query');
    await findThread(store, threadId);
    return json(c, 200, await store.listNotes(threadId, limit, cursor)) as never;
  });

  app.openapi(createNote, async (c) => {
    const { threadId } = c.req.valid('param');
    const { text } = c.req.valid('json');
    const thread = await liveThreadOf(store, threadId);
    const principal = c.get('principal');
    const note = {
      id: noteIdOf(c, deps),
      threadId: thread.value.id,
      text,
      author: { type: 'api_key' as const, id: principal.keyId },
      createdAt: c.get('idempotency')?.firstSeenAt ?? deps.clock.now().toISOString(),
    };
    try {
      await store.commit([
        {
          kind: 'note',
          op: 'put',
          value: note,
          version: NEW_RECORD,
          // A note item does not hold its thread, which thread.updated carries: the thread travels with the
          // event (without it the relay could not build the event and parked the record).
          events: [
            onceEvent('thread.updated', note.createdAt, [thread.value.id, 'note', note.id], {
              changes: ['notes'],
              thread: publicThread(thread.value),
            }),
          ],
        },
      ]);
    } catch (error) {
      // Written by this request's first run (a retry with the same Idempotency-Key, same id): answer with it.
      if (!(error instanceof ConflictError)) throw error;
    }
    return json(c, 201, note) as never;
  });
};

/** Note ids sort by time, and a retried request (same Idempotency-Key) makes the same id. */
const noteIdOf = (c: ApiContext, deps: ApiDeps): string => {
  const idempotency = c.get('idempotency');
  const at = idempotency ? millis(idempotency.firstSeenAt) : deps.clock.now().getTime();
  const suffix = idempotency ? deterministicId('n', c.get('principal').keyId, idempotency.key) : randomId('n');
  return `note_${at.toString(36).padStart(9, '0')}_${suffix.slice(2)}`;
};

/** The threads a person took part in: their own and the groups they wrote in, newest activity first. */
const threadsOfPerson = async (
  deps: ApiDeps,
  channel: z.infer<typeof ChannelSchema>,
  externalUserId: string,
  statuses?: readonly string[],
) => {
  const store = deps.conversations;
  const threads: StoredThread[] = [];
  for (const id of await store.listParticipantThreads(channel, externalUserId)) {
    const thread = await store.getThread(id);
    if (!thread) continue;
    let live = thread.value;
    for (let hops = 0; live.mergedInto !== undefined && hops < 10; hops++) live = (await store.getThread(live.mergedInto))?.value ?? live;
    if (!threads.some((t) => t.id === live.id) && (statuses === undefined || statuses.includes(live.status))) threads.push(live);
  }
  threads.sort((a, b) => millis(b.updatedAt) - millis(a.updatedAt));
  return { items: threads.map(publicThread) };
};
