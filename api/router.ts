/**
 * The integrator API (`/v1`) as a plain function from request to response over the ports. The Lambda
 * handler (`functions/api.ts`) and the local runtime both adapt their HTTP requests to {@link ApiRequest}.
 */
import { createHash, randomUUID } from 'node:crypto';
import type * as z from 'zod';
import { hasCredentials, type ChannelAccount, type ChannelCapabilities } from '../domain/connector.ts';
import { ChannelSchema, type Channel } from '../domain/content.ts';
import { InvalidCursorError, SecretNotWritableError } from '../domain/errors.ts';
import { DEFAULT_ACCOUNT } from '../domain/ingest.ts';
import { newMessageId } from '../domain/message-ids.ts';
import type { Account, Failure, Message } from '../domain/model.ts';
import { mediaOf } from '../domain/media.ts';
import type { Clock, Log, MediaStore, OutboundJob, Page, SecretStore, ThreadStore, WorkQueue } from '../domain/ports.ts';
import { authorize, type Principal } from './auth.ts';
import { ApiError, invalidRequest } from './errors.ts';
import { matchRoute, type OperationId } from './routes.ts';
import {
  AccountListQuerySchema,
  IDEMPOTENCY_TTL_HOURS,
  IdempotencyKeySchema,
  MAX_API_BODY_BYTES,
  MAX_INLINE_MEDIA_BYTES,
  MEDIA_LINK_SECONDS,
  MessageListQuerySchema,
  PostMessageRequestSchema,
  RegisterAccountRequestSchema,
  ThreadListQuerySchema,
  type ErrorBody,
  type PostMessageRequest,
  type RegisteredAccount,
} from './schemas.ts';

export interface ApiRequest {
  readonly method: string;
  /** The path without query string, e.g. `/v1/threads/abc/messages`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body as text (already base64-decoded), or undefined when there is none. */
  readonly body: string | undefined;
  /**
   * Who the authorizer in front of the API (API Gateway's) found the caller to be. When it is absent the
   * router checks the `authorization` header itself, so the API is never open by a wiring mistake.
   */
  readonly principal?: Principal | undefined;
}

export interface ApiResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON, or with `isBase64Encoded` the base64 of binary bytes (media). */
  readonly body: string;
  readonly isBase64Encoded?: boolean;
}

export interface ApiDeps {
  readonly store: ThreadStore;
  readonly outbound: WorkQueue<OutboundJob>;
  /** Parley's copies of customers' media, served by `getMessageMedia`. */
  readonly media: MediaStore;
  readonly clock: Clock;
  readonly log: Log;
  /** What a channel can carry outbound; undefined when the channel has no connector here. */
  readonly capabilities: (channel: Channel) => ChannelCapabilities | undefined;
  /**
   * Channel credentials, to tell whether a registered account is `configured`. Without them the API
   * cannot tell, and leaves `configured` out (the AWS API function goes without: see functions/api.ts).
   */
  readonly secrets?: SecretStore | undefined;
  /**
   * What a channel's accounts need: an account is `configured` when it has the inbound credentials, and
   * credentials put through the API must use the channel's credential names.
   */
  readonly account: (channel: Channel) => ChannelAccount | undefined;
  /** The OpenAPI document, where this router serves it too (tests); deployments serve it from api-docs. */
  readonly openApiDocument?: (() => unknown) | undefined;
}

export type Api = (request: ApiRequest) => Promise<ApiResponse>;

interface Context {
  readonly request: ApiRequest;
  readonly params: Readonly<Record<string, string>>;
  readonly principal: Principal;
}

const json = (statusCode: number, body: unknown, headers: Readonly<Record<string, string>> = {}): ApiResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
});

/**
 * Media as an attachment: what customers send is untrusted, so a browser must neither render it in the
 * API's origin (`attachment`, a sandboxing CSP) nor guess another type for it (`nosniff`).
 */
/**
 * Always an attachment, never rendered by a browser; the name as the customer sent it, made header-safe and
 * at most 100 characters (a provider's name is unbounded, and a presigned link carries it in its URL).
 */
const contentDisposition = (fileName: string | undefined): string => {
  if (!fileName) return 'attachment';
  // Whole code points, and no lone surrogate, which encodeURIComponent refuses.
  const name = Array.from(fileName.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')).slice(0, 100).join('');
  const safeName = name.replace(/[^\w.\- ]/g, '_');
  return `attachment; filename="${safeName}"; filename*=UTF-8''${encodeURIComponent(name)}`;
};

const binary = (bytes: Buffer, contentType: string, fileName: string | undefined): ApiResponse => {
  return {
    statusCode: 200,
    headers: {
      'content-type': contentType,
      'content-length': String(bytes.length),
      'content-disposition': contentDisposition(fileName),
      'x-content-type-options': 'nosniff',
      'content-security-policy': "sandbox; default-src 'none'",
      // The copy under a key never changes; it is still the customer's data, so only the client may keep it.
      'cache-control': 'private, max-age=3600',
    },
    body: bytes.toString('base64'),
    isBase64Encoded: true,
  };
};

const parse = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> => {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidRequest(what, result.error);
  return result.data;
};

const readJsonBody = (body: string | undefined): unknown => {
  // Measured before parsing, so an oversized body costs no more than its length.
  if (body !== undefined && Buffer.byteLength(body, 'utf8') > MAX_API_BODY_BYTES) {
    throw new ApiError('payload_too_large', `The body is over ${MAX_API_BODY_BYTES} bytes`);
  }
  if (body === undefined || body.trim() === '') throw new ApiError('invalid_request', 'A JSON body is required');
  try {
    return JSON.parse(body);
  } catch {
    throw new ApiError('invalid_request', 'The body is not valid JSON');
  }
};

/** JSON with object keys sorted, so the same request always hashes the same however its keys were ordered. */
const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

/** What an Idempotency-Key is bound to: the thread and the parsed body (not its bytes or key order). */
const requestHashOf = (threadId: string, input: PostMessageRequest): string =>
  createHash('sha256')
    // A tag only when there is one, so keys used before tags existed keep their hashes.
    .update(canonicalJson({ threadId, channel: input.channel ?? null, content: input.content, ...(input.messageTag && { messageTag: input.messageTag }) }))
    .digest('hex');

const pageOf = <T>(page: Page<T>): Page<T> => ({
  items: page.items,
  ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }),
});

/** Recorded on a message whose delivery job could not be queued: nothing will send it. */
export const NOT_QUEUED = { kind: 'retryable', message: 'could not be queued' } as const satisfies Failure;

const wasNotQueued = (message: Message): boolean =>
  message.status === 'failed' && message.failure?.kind === NOT_QUEUED.kind && message.failure.message === NOT_QUEUED.message;

/** Attempts one Idempotency-Key may make before the API stops trying and answers 503. */
const MAX_ATTEMPTS_PER_KEY = 10;

const REPLAYED = { 'idempotent-replayed': 'true' } as const;

const unavailable = (message: string): ApiError => new ApiError('unavailable', message, undefined, { 'retry-after': '1' });

const unauthorized = (): ApiError =>
  new ApiError('unauthorized', 'A valid API key is required: Authorization: Bearer <key>', undefined, {
    'www-authenticate': 'Bearer',
  });

export const createApi = (deps: ApiDeps): Api => {
  const { store, log } = deps;

  const getThread = async (threadId: string) => {
    const thread = await store.getThread(threadId);
    if (!thread) throw new ApiError('not_found', `No thread ${threadId}`);
    return thread;
  };

  /**
   * Puts a just-stored message on its way: records it as the thread's latest activity and queues its
   * delivery. Only the request that stored the message calls this, so a replayed request never queues a
   * second job that a concurrent sender could act on. When queueing fails the message is marked failed
   * ({@link NOT_QUEUED}), so it never looks as if it were on its way; a retry with the same
   * Idempotency-Key then makes a new attempt (see `postMessage`), and a retry without one a new message.
   */
  const enqueue = async (message: Message, keyed: boolean): Promise<void> => {
    try {
      await store.recordActivity(message.threadId, { channel: message.channel, at: message.occurredAt, direction: 'outbound' });
      await deps.outbound.send({ kind: 'deliver', channel: message.channel, threadId: message.threadId, messageId: message.id });
    } catch (error) {
      log.error('message stored but not queued', {
        threadId: message.threadId,
        messageId: message.id,
        error: error instanceof Error ? error.message : String(error),
      });
      // If the queue took the job after all, the sender now skips it instead of sending it twice. Only a
      // message still `queued` is marked: one the sender already sent (the queue's error was a lie) is
      // left as it is, and the request succeeds.
      const marked = await store
        .advanceStatus(message.threadId, message.id, {
          status: 'failed',
          at: deps.clock.now().toISOString(),
          failure: NOT_QUEUED,
          onlyIfQueued: true,
        })
        .catch((markError: unknown) => {
          log.error('unqueued message not marked failed', {
            messageId: message.id,
            error: markError instanceof Error ? markError.message : String(markError),
          });
          return true;
        });
      if (!marked) return;
      throw unavailable(
        keyed
          ? 'The message could not be queued; retry with the same Idempotency-Key'
          : 'The message could not be queued and will not be sent; send it again',
      );
    }
  };

  /**
   * What a repeated Idempotency-Key stands for. Follows the attempts made under the key: the first
   * message, and after each attempt that could not be queued its successor, whose id is derived from it
   * so that concurrent retries arrive at the same one. Ends at the message to answer with, or at the
   * attempt still to be stored (its first request stopped before storing it, or the last attempt was
   * not queued).
   */
  const followAttempts = async (
    threadId: string,
    firstId: string,
    now: Date,
  ): Promise<{ readonly kind: 'found'; readonly message: Message } | { readonly kind: 'create'; readonly id: string; readonly occurredAt: string }> => {
    let id = firstId;
    let occurredAt = now.toISOString();
    for (let attempt = 0; attempt <= MAX_ATTEMPTS_PER_KEY; attempt++) {
      const stored = await store.getMessage(threadId, id);
      if (!stored) return { kind: 'create', id, occurredAt };
      if (!wasNotQueued(stored)) return { kind: 'found', message: stored };
      // A millisecond after the attempt it replaces, so it sorts right after it in the thread; derived from
      // stored values only, so every concurrent retry arrives at the same id.
      const next = new Date(new Date(stored.occurredAt).getTime() + 1);
      occurredAt = next.toISOString();
      id = newMessageId(next, next, stored.id, 'requeued');
    }
    throw unavailable('The message could not be queued in several attempts; try again later');
  };

  const postMessage = async ({ request, params, principal }: Context): Promise<ApiResponse> => {
    const input = parse(PostMessageRequestSchema, readJsonBody(request.body), 'The body');
    const rawKey = request.headers['idempotency-key'];
    const key = rawKey === undefined ? undefined : parse(IdempotencyKeySchema, rawKey, 'The Idempotency-Key header');
    const threadId = params.threadId ?? '';
    const thread = await getThread(threadId);

    // Routes are most recent first: the default is where the customer wrote last.
    const route = input.channel ? thread.routes.find((r) => r.channel === input.channel) : thread.routes[0];
    if (!route) {
      const channels = thread.routes.map((r) => r.channel).join(', ') || 'none';
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

    // Validation comes before the key is claimed: a refused request does not use the key up.
    const now = deps.clock.now();
    let target = { id: newMessageId(now, now, principal.keyId, key ?? randomUUID()), occurredAt: now.toISOString() };
    if (key !== undefined) {
      const requestHash = requestHashOf(threadId, input);
      const expiresAt = new Date(now.getTime() + IDEMPOTENCY_TTL_HOURS * 3_600_000).toISOString();
      const claim = await store.claimIdempotencyKey(principal.keyId, key, { threadId, messageId: target.id, requestHash }, expiresAt);
      if (!claim.claimed) {
        if (claim.existing.requestHash !== requestHash) {
          throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
        }
        const found = await followAttempts(claim.existing.threadId, claim.existing.messageId, now);
        if (found.kind === 'found') return json(202, found.message, REPLAYED);
        target = found;
      }
    }

    const message: Message = {
      id: target.id,
      threadId,
      direction: 'outbound',
      channel: route.channel,
      accountId: route.accountId,
      occurredAt: target.occurredAt,
      author: { role: 'agent', id: principal.keyId },
      content: input.content,
      ...(input.messageTag && { messageTag: input.messageTag }),
      status: 'queued',
    };
    // A concurrent request with the same key may have stored it first: then that request queues it.
    const { inserted, message: stored } = await store.insertMessage(message);
    if (!inserted) return json(202, stored, REPLAYED);
    await enqueue(stored, key !== undefined);
    return json(202, stored);
  };

  /** The account as the API shows it: where its webhooks go and, where known, whether it can receive them. */
  const viewOf = async (account: Account): Promise<RegisteredAccount> => {
    const { channel, accountId } = account;
    const view = { ...account, webhookUrl: `/webhooks/${channel}/${accountId}` };
    if (!deps.secrets) return view;
    const credentials = await deps.secrets.get(channel, accountId);
    return { ...view, configured: hasCredentials(credentials, deps.account(channel)?.credentialNames.inbound ?? []) };
  };

  const DEFAULTS_ARE_THE_DEPLOYMENTS =
    "The default account's credentials are the deployment's own (environment variables locally, its Secrets Manager secret in AWS)";

  /**
   * Credentials put with a registration: only the channel's own names, at least the inbound ones, naming no
   * other account than the one registered, and never the default account's (by its name or by the id its
   * credentials name: replies on the default account's threads would otherwise leave with them).
   */
  const checkCredentials = async (channel: Channel, accountId: string, credentials: Readonly<Record<string, string>>): Promise<void> => {
    if (accountId === DEFAULT_ACCOUNT) throw new ApiError('invalid_request', DEFAULTS_ARE_THE_DEPLOYMENTS);
    const account = deps.account(channel);
    if (!account) throw new ApiError('unknown_channel', `${channel} is not a channel enabled on this deployment`);
    const known = [...Object.keys(account.environment.credentials), ...(account.credentialNames.optional ?? [])];
    const unknown = Object.keys(credentials).filter((name) => !known.includes(name));
    const missing = account.credentialNames.inbound.filter((name) => credentials[name] === undefined);
    if (unknown.length > 0 || missing.length > 0) {
      throw new ApiError(
        'invalid_request',
        [
          unknown.length > 0 && `${channel} has no credential ${unknown.join(', ')}`,
          missing.length > 0 && `its webhooks need ${missing.join(', ')}`,
        ]
          .filter(Boolean)
          .join('; ') + `. ${channel} credentials: ${known.join(', ')}`,
      );
    }
    const named = account.accountIdOf(credentials);
    if (named !== undefined && named !== accountId) {
      // Inbound routes by the id the credentials name, so replies would look for that account's secret.
      throw new ApiError('invalid_request', `These ${channel} credentials belong to account ${named}, not ${accountId}; register them as ${named}`);
    }
    if (!deps.secrets) throw unavailable('This deployment cannot keep credentials');
    const defaults = await deps.secrets.get(channel, DEFAULT_ACCOUNT);
    if (defaults && account.accountIdOf(defaults) === accountId) throw new ApiError('invalid_request', DEFAULTS_ARE_THE_DEPLOYMENTS);
  };

  const registerAccount = async ({ request }: Context): Promise<ApiResponse> => {
    const input = parse(RegisterAccountRequestSchema, readJsonBody(request.body), 'The body');
    const channel = ChannelSchema.safeParse(input.channel);
    if (!channel.success || !deps.capabilities(channel.data)) {
      throw new ApiError('unknown_channel', `${input.channel} is not a channel enabled on this deployment`);
    }
    if (input.credentials !== undefined) {
      await checkCredentials(channel.data, input.accountId, input.credentials);
      // Before the registration, so an account is never listed with credentials that were not kept.
      await deps.secrets?.put(channel.data, input.accountId, input.credentials);
      log.info('account credentials put', { channel: channel.data, accountId: input.accountId, names: Object.keys(input.credentials) });
    }
    const stored = await store.putAccount({
      channel: channel.data,
      accountId: input.accountId,
      ...(input.name !== undefined && { name: input.name }),
      createdAt: deps.clock.now().toISOString(),
    });
    return json(201, await viewOf(stored));
  };

  const operations: Record<OperationId, (context: Context) => Promise<ApiResponse>> = {
    getOpenApiDocument: async () => {
      // In a deployment the document has a function of its own (functions/api-docs.ts), which its route reaches first.
      if (!deps.openApiDocument) throw new ApiError('not_found', 'The OpenAPI document is served by the api-docs function');
      return json(200, deps.openApiDocument());
    },

    listAccounts: async ({ request }) => {
      const query = parse(AccountListQuerySchema, request.query, 'The query');
      const accounts = await store.listAccounts(query.channel);
      return json(200, { items: await Promise.all(accounts.map(viewOf)) });
    },

    registerAccount,

    listThreads: async ({ request }) => {
      const query = parse(ThreadListQuerySchema, request.query, 'The query');
      return json(200, pageOf(await store.listThreadsByParticipant(query.channel, query.externalUserId, query.limit, query.cursor)));
    },

    getThread: async ({ params }) => json(200, await getThread(params.threadId ?? '')),

    listMessages: async ({ request, params }) => {
      const query = parse(MessageListQuerySchema, request.query, 'The query');
      const thread = await getThread(params.threadId ?? '');
      return json(200, pageOf(await store.listMessages(thread.id, query.limit, query.cursor)));
    },

    postMessage,

    getMessageMedia: async ({ params }) => {
      const thread = await getThread(params.threadId ?? '');
      const messageId = params.messageId ?? '';
      const message = await store.getMessage(thread.id, messageId);
      if (!message) throw new ApiError('not_found', `No message ${messageId} in thread ${thread.id}`);
      const ref = mediaOf(message.content);
      if (!ref) throw new ApiError('not_found', `Message ${messageId} has no media (it is ${message.content.type} content)`);
      const notCopied = () =>
        new ApiError('media_not_copied', `The media of message ${messageId} is not in Parley's storage (yet); try again shortly`);
      if (!message.mediaCopy) throw notCopied();
      if (message.mediaCopy.size > MAX_INLINE_MEDIA_BYTES) {
        // More than one answer can carry (Lambda's 6 MB): a short-lived link straight to the stored copy.
        if (!deps.media.downloadUrl) {
          throw new ApiError('media_too_large', `The media is ${message.mediaCopy.size} bytes; at most ${MAX_INLINE_MEDIA_BYTES} can be served`);
        }
        const expiresAt = new Date(deps.clock.now().getTime() + MEDIA_LINK_SECONDS * 1000).toISOString();
        const url = await deps.media.downloadUrl(message.mediaCopy.key, {
          expiresInSeconds: MEDIA_LINK_SECONDS,
          contentDisposition: contentDisposition(ref.fileName),
        });
        return json(302, { url, expiresAt, size: message.mediaCopy.size, contentType: message.mediaCopy.contentType }, { location: url });
      }
      const object = await deps.media.get(message.mediaCopy.key);
      if (!object) throw notCopied();
      return binary(object.bytes, object.contentType, ref.fileName);
    },
  };

  const handle = async (request: ApiRequest): Promise<ApiResponse> => {
    const match = matchRoute(request.method, request.path);
    switch (match.kind) {
      case 'not_found':
        throw new ApiError('not_found', `No route ${request.method.toUpperCase()} ${request.path}`);
      case 'method_not_allowed':
        throw new ApiError('method_not_allowed', `${request.path} accepts ${match.allow.join(', ')}`, undefined, {
          allow: match.allow.join(', '),
        });
      case 'route': {
        // Every route needs a key, the document included. The authorizer has checked it already in AWS;
        // without a principal from it (tests, direct invocation) the router checks the key itself.
        const principal = request.principal ?? (await authorize(store, request.headers.authorization));
        if (!principal) throw unauthorized();
        return operations[match.route.operationId]({ request, params: match.params, principal });
      }
    }
  };

  return async (request) => {
    try {
      return await handle(request);
    } catch (error) {
      if (error instanceof ApiError) return json(error.status, error.toBody(), error.headers);
      if (error instanceof InvalidCursorError) {
        return json(400, { code: 'invalid_cursor', message: 'The cursor is not one this API gave out' } satisfies ErrorBody);
      }
      if (error instanceof SecretNotWritableError) {
        return json(409, {
          code: 'credentials_managed_elsewhere',
          message: "This account's credentials were put in the secret store outside the API; change them there",
        } satisfies ErrorBody);
      }
      log.error('api request failed', {
        method: request.method,
        path: request.path,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      return json(500, { code: 'internal', message: 'Something went wrong on our side; try again later' } satisfies ErrorBody);
    }
  };
};
