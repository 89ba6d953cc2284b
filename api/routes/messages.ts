/**
 * A thread's messages: read (with the histories of merged contacts), reply (an agent's message, queued and
 * sent by the channel's sender), the media a customer sent, and a failed message sent again.
 */
import * as z from 'zod';
import { ChannelSchema, type OutboundContent } from '../../domain/content.ts';
import { applyOutbound } from '../../domain/conversations/threads.ts';
import { MessageSchema, MessageTagSchema } from '../../domain/conversations/model.ts';
import type { StoredMessage } from '../../domain/conversations/ports.ts';
import { consentAtSend } from '../../domain/delivery/consent.ts';
import { requeue } from '../../domain/delivery/outbound.ts';
import { windowVerdict } from '../../domain/delivery/windows.ts';
import { onceEvent } from '../../domain/events/outbox.ts';
import { mediaOf } from '../../domain/media.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import { ConflictError, NEW_RECORD, retryOnConflict } from '../../domain/shared/store.ts';
import { addSeconds } from '../../domain/shared/time.ts';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../errors.ts';
import { CursorSchema, json, jsonBody, jsonResponse, LimitSchema, pageSchema, route } from '../kit.ts';
import { OutboundContentSchema, MAX_QUICK_REPLIES, MAX_INLINE_MEDIA_BYTES, MEDIA_LINK_SECONDS, MediaLinkSchema } from '../schemas.ts';
import type { Api, ApiDeps } from '../deps.ts';
import { findThread, liveThreadOf, ThreadParams } from './threads.ts';

export const MessagePageSchema = pageSchema(MessageSchema, 'MessagePage', 'Oldest first (or newest first with `order=newest`)');
const MessageParams = ThreadParams.extend({ messageId: z.string().min(1).max(200).describe('A message id') });

export const PostMessageRequestSchema = z
  .strictObject({
    content: OutboundContentSchema,
    channel: ChannelSchema.optional().describe("One of the thread's channels; by default the channel the customer wrote on most recently"),
    messageTag: MessageTagSchema.optional().describe(
      "Sends with this message tag, for channels that have them (Messenger, Instagram): `human_agent` lets a person answer up to 7 days after the customer's last message. Refused on channels without tags",
    ),
    author: z
      .strictObject({
        role: z
          .enum(['agent', 'bot'])
          .describe('agent: a person (the default); bot: automation, which stays silent while a human holds the thread'),
        id: z.string().min(1).max(128).optional().describe("The agent's or bot's id; the API key's id when absent"),
      })
      .optional()
      .describe('Who is answering'),
  })
  // A bound on what is sent; stored messages of old are read without it.
  .refine((request) => request.content.type !== 'text' || (request.content.quickReplies?.length ?? 0) <= MAX_QUICK_REPLIES, {
    message: `at most ${MAX_QUICK_REPLIES} quick replies`,
    path: ['content', 'quickReplies'],
  })
  .meta({ id: 'PostMessageRequest' });

const listMessages = route({
  method: 'get',
  path: '/v1/threads/{threadId}/messages',
  operationId: 'listMessages',
  summary: "A thread's messages, with the histories of contacts merged into it",
  tags: ['messages'],
  scope: 'read',
  errors: ['not_found', 'invalid_request', 'invalid_cursor'],
  request: {
    params: ThreadParams,
    query: z.object({
      limit: LimitSchema,
      cursor: CursorSchema,
      order: z.enum(['oldest', 'newest']).default('oldest').describe('Oldest first (default) or newest first'),
    }),
  },
  responses: { 200: jsonResponse(MessagePageSchema, 'One page of messages') },
});

const postMessage = route({
  method: 'post',
  path: '/v1/threads/{threadId}/messages',
  operationId: 'postMessage',
  summary: "An agent's reply, sent on the customer's most recent channel unless another is named",
  tags: ['messages'],
  scope: 'write',
  errors: [
    'not_found',
    'invalid_request',
    'channel_not_in_thread',
    'channel_unavailable',
    'unsupported_content',
    'control_held',
    'outside_messaging_window',
    'idempotency_key_reused',
    'idempotency_key_in_use',
  ],
  request: { params: ThreadParams, body: jsonBody(PostMessageRequestSchema) },
  responses: { 202: jsonResponse(MessageSchema, 'The message, `queued` until the provider accepts it') },
});

const getMedia = route({
  method: 'get',
  path: '/v1/threads/{threadId}/messages/{messageId}/media',
  operationId: 'getMessageMedia',
  summary: "The media a customer sent, from Parley's own copy",
  tags: ['messages'],
  scope: 'read',
  errors: ['not_found', 'media_not_copied', 'media_too_large'],
  request: { params: MessageParams },
  responses: {
    200: {
      description: 'The media bytes, with their `Content-Type`',
      content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } },
    },
    302: jsonResponse(
      MediaLinkSchema,
      `Media over ${MAX_INLINE_MEDIA_BYTES} bytes: a link valid for ${MEDIA_LINK_SECONDS} seconds (also in \`Location\`)`,
    ),
  },
});

const retryMessage = route({
  method: 'post',
  path: '/v1/threads/{threadId}/messages/{messageId}/retry',
  operationId: 'retryMessage',
  summary: 'Send a failed outbound message again',
  tags: ['messages'],
  scope: 'write',
  errors: ['not_found', 'invalid_status_change', 'no_consent'],
  request: { params: MessageParams },
  responses: { 202: jsonResponse(MessageSchema, 'The message, `queued` again') },
});

/**
 * Always an attachment, never rendered by a browser; the name as the customer sent it, made header-safe and
 * at most 100 characters (a provider's name is unbounded, and a presigned link carries it in its URL).
 */
export const contentDisposition = (fileName: string | undefined): string => {
  if (!fileName) return 'attachment';
  // Whole code points, and no lone surrogate, which encodeURIComponent refuses.
  const name = Array.from(fileName.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'))
    .slice(0, 100)
    .join('');
  const safeName = name.replace(/[^\w.\- ]/g, '_');
  return `attachment; filename="${safeName}"; filename*=UTF-8''${encodeURIComponent(name)}`;
};

const publicMessage = (message: StoredMessage) => MessageSchema.parse(message);

/**
 * Queues a message's delivery at once (see `ApiDeps.outbound`): the outbox relay queues it too, from the write,
 * but behind whatever else the relay has to publish (a campaign's events). A failure here only loses the head start.
 */
export const fastPath = async (deps: Pick<ApiDeps, 'outbound' | 'log'>, message: StoredMessage): Promise<void> => {
  if (!deps.outbound) return;
  try {
    await deps.outbound.send({
      kind: 'deliver',
      channel: message.channel,
      threadId: message.threadId,
      messageId: message.id,
      ...(message.notification && { lane: 'proactive' as const }),
      job: `api_${message.id}`,
    });
  } catch (error) {
    deps.log.warn('delivery job not queued at once; the outbox relay queues it', {
      messageId: message.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
};

export const registerMessageRoutes = (app: Api, deps: ApiDeps): void => {
  const store = deps.conversations;

  app.openapi(listMessages, async (c) => {
    const { threadId } = c.req.valid('param');
    const { limit, cursor, order } = c.req.valid('query');
    const thread = (await findThread(store, threadId)).value;
    const page = await store.listMessages([thread.id, ...(thread.mergedThreads ?? [])], limit, cursor, order);
    return json(c, 200, { items: page.items.map(publicMessage), ...(page.nextCursor && { nextCursor: page.nextCursor }) }) as never;
  });

  app.openapi(postMessage, async (c) => {
    const { threadId } = c.req.valid('param');
    const input = c.req.valid('json');
    const principal = c.get('principal');
    const idempotency = c.get('idempotency');
    const thread = await liveThreadOf(store, threadId);
    const role = input.author?.role ?? 'agent';
    // Control decides who may answer: while a human holds the thread, automation stays silent.
    if (role === 'bot' && thread.value.control.holder === 'human') {
      throw new ApiError(
        'control_held',
        `A human${thread.value.control.id ? ` (${thread.value.control.id})` : ''} holds this thread; automation stays silent until control is passed back`,
      );
    }

    // Routes are most recent first: the default is where the customer wrote last.
    const route = input.channel ? thread.value.routes.find((r) => r.channel === input.channel) : thread.value.routes[0];
    if (!route) {
      const channels = thread.value.routes.map((r) => r.channel).join(', ') || 'none';
      throw new ApiError(
        'channel_not_in_thread',
        input.channel
          ? `The customer has not written on ${input.channel} in this thread; its reply channels: ${channels}`
          : 'The thread has no channel to reply on',
      );
    }
    const capabilities = deps.capabilities(route.channel);
    if (!capabilities) throw new ApiError('channel_unavailable', `${route.channel} is not enabled on this deployment`);
    if (!capabilities.outboundTypes.includes(input.content.type)) {
      throw new ApiError(
        'unsupported_content',
        `${route.channel} cannot carry ${input.content.type} content; it can carry: ${capabilities.outboundTypes.join(', ')}`,
      );
    }
    if (input.messageTag !== undefined && !capabilities.messageTags.includes(input.messageTag)) {
      const tags = capabilities.messageTags.join(', ') || 'none';
      throw new ApiError('unsupported_content', `${route.channel} cannot send with the message tag ${input.messageTag}; its tags: ${tags}`);
    }
    // The channel's messaging window, checked now rather than refused by the provider later.
    const window = windowVerdict({
      channel: route.channel,
      capabilities,
      route,
      contentType: input.content.type,
      messageTag: input.messageTag,
      now: deps.clock.now(),
      settings: deps.secrets ? ((await deps.secrets.get(route.channel, route.accountId)) ?? {}) : undefined,
    });
    if (window.kind === 'refused') {
      throw new ApiError(
        window.code,
        `${window.reason}.${window.allowedInstead.length > 0 ? ` Allowed instead: ${window.allowedInstead.join('; ')}.` : ''}`,
        {
          channel: route.channel,
          allowedInstead: window.allowedInstead,
          ...(window.windowExpiresAt !== undefined && { windowExpiresAt: window.windowExpiresAt }),
        },
      );
    }

    // With an Idempotency-Key the id comes from the key and the first request's time: a request run again
    // after its first run stopped halfway finds the message it wrote.
    const at = idempotency ? new Date(idempotency.firstSeenAt) : deps.clock.now();
    const occurredAt = at.toISOString();
    const message: StoredMessage = {
      id: newMessageId(at, at, principal.keyId, idempotency?.key ?? randomUUID()),
      threadId: thread.value.id,
      contactId: thread.value.contactId,
      direction: 'outbound',
      channel: route.channel,
      accountId: route.accountId,
      occurredAt,
      author: { role, id: input.author?.id ?? principal.keyId },
      content: input.content satisfies OutboundContent,
      ...(input.messageTag && { messageTag: input.messageTag }),
      status: 'queued',
      ...(deps.retentionDays !== undefined && { expiresAt: addSeconds(occurredAt, deps.retentionDays * 86_400) }),
    };
    // The write is the commitment: the outbox relay queues the message for its channel's sender.
    let stored = message;
    try {
      await store.commit([
        {
          kind: 'message',
          op: 'put',
          value: message,
          version: NEW_RECORD,
          events: [onceEvent('message.created', occurredAt, [message.threadId, message.id])],
        },
      ]);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // Written by this request's first run, which stopped before the thread was updated: finish its work.
      const existing = await store.getMessage(message.threadId, message.id);
      if (!existing) throw error;
      stored = existing.value;
    }
    let read: typeof thread | undefined = thread;
    await retryOnConflict(async () => {
      const current = read ?? (await liveThreadOf(store, thread.value.id));
      read = undefined;
      // Only a person's reply answers the customer (first response, unread, the assignment's answer deadline).
      const change = applyOutbound(current.value, { channel: route.channel, at: occurredAt, byAgent: role === 'agent' });
      if (change.changed) await store.commit([{ kind: 'thread', op: 'put', value: change.thread, version: current.version }]);
    });
    await fastPath(deps, stored);
    return json(c, 202, publicMessage(stored)) as never;
  });

  app.openapi(getMedia, async (c) => {
    const { threadId, messageId } = c.req.valid('param');
    const thread = (await findThread(store, threadId)).value;
    const message =
      (await store.getMessage(thread.id, messageId)) ??
      (await Promise.all((thread.mergedThreads ?? []).map((id) => store.getMessage(id, messageId)))).find((m) => m !== undefined);
    if (!message) throw new ApiError('not_found', `No message ${messageId} in thread ${thread.id}`);
    const ref = mediaOf(message.value.content);
    if (!ref) throw new ApiError('not_found', `Message ${messageId} has no media (it is ${message.value.content.type} content)`);
    const notCopied = () =>
      new ApiError('media_not_copied', `The media of message ${messageId} is not in Parley's storage (yet); try again shortly`);
    const copy = message.value.mediaCopy;
    if (!copy) throw notCopied();
    if (copy.size > MAX_INLINE_MEDIA_BYTES) {
      // More than one answer can carry (Lambda's 6 MB): a short-lived link straight to the stored copy.
      if (!deps.media.downloadUrl)
        throw new ApiError('media_too_large', `The media is ${copy.size} bytes; at most ${MAX_INLINE_MEDIA_BYTES} can be served`);
      const expiresAt = new Date(deps.clock.now().getTime() + MEDIA_LINK_SECONDS * 1000).toISOString();
      const url = await deps.media.downloadUrl(copy.key, {
        expiresInSeconds: MEDIA_LINK_SECONDS,
        contentDisposition: contentDisposition(ref.fileName),
      });
      return json(c, 302, { url, expiresAt, size: copy.size, contentType: copy.contentType }, { location: url }) as never;
    }
    const object = await deps.media.get(copy.key);
    if (!object) throw notCopied();
    return new Response(new Uint8Array(object.bytes), {
      status: 200,
      headers: {
        'content-type': object.contentType,
        'content-length': String(object.bytes.length),
        'content-disposition': contentDisposition(ref.fileName),
        'x-content-type-options': 'nosniff',
        'content-security-policy': "sandbox; default-src 'none'",
        // The copy under a key never changes; it is still the customer's data, so only the client may keep it.
        'cache-control': 'private, max-age=3600',
      },
    }) as never;
  });

  app.openapi(retryMessage, async (c) => {
    const { threadId, messageId } = c.req.valid('param');
    const message = await store.getMessage(threadId, messageId);
    if (!message) throw new ApiError('not_found', `No message ${messageId} in thread ${threadId}`);
    if (message.value.direction !== 'outbound' || message.value.status !== 'failed') {
      throw new ApiError(
        'invalid_status_change',
        `Only a failed outbound message can be sent again; this one is ${message.value.direction} and ${message.value.status}`,
      );
    }
    const consent = await consentAtSend(deps, message.value);
    if (consent?.kind === 'refused') throw new ApiError('no_consent', consent.reason);
    const queued = await requeue(message, { store, clock: deps.clock, log: deps.log });
    return json(c, 202, publicMessage(queued?.value ?? message.value)) as never;
  });
};
