/**
 * The OpenAPI 3.1 document of the integrator API, generated from the zod schemas the router validates
 * with and the route table it matches against. Served at `GET /v1/openapi.json`.
 * @see https://spec.openapis.org/oas/v3.1.1.html
 */
import * as z from 'zod';
import { ChannelSchema, ContentSchema, MediaRefSchema, QuickReplySchema, TextEntitySchema } from '../domain/content.ts';
import { ConversationRefSchema } from '../domain/events.ts';
import { AccountSchema, AuthorSchema, ChannelRouteSchema, FailureSchema, MessageSchema, ThreadSchema } from '../domain/model.ts';
import { ROUTES, type OperationId } from './routes.ts';
import {
  AccountListQuerySchema,
  AccountListSchema,
  ERROR_STATUS,
  ErrorSchema,
  IdempotencyKeySchema,
  MAX_API_BODY_BYTES,
  MAX_INLINE_MEDIA_BYTES,
  MEDIA_LINK_SECONDS,
  MediaLinkSchema,
  MessageIdSchema,
  MessageListQuerySchema,
  MessagePageSchema,
  OutboundContentSchema,
  PostMessageRequestSchema,
  RegisterAccountRequestSchema,
  RegisteredAccountSchema,
  ThreadIdSchema,
  ThreadListQuerySchema,
  ThreadPageSchema,
  type ErrorCode,
} from './schemas.ts';

/** The document's own version; the API's version is the `/v1` in its paths. */
export const OPENAPI_DOCUMENT_VERSION = '1.0.0';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: JsonObject;
  readonly security: Json[];
  readonly paths: Record<string, Record<string, JsonObject>>;
  readonly components: {
    readonly schemas: Record<string, JsonObject>;
    readonly securitySchemes: Record<string, JsonObject>;
    readonly parameters: Record<string, JsonObject>;
    readonly responses: Record<string, JsonObject>;
    readonly headers: Record<string, JsonObject>;
  };
}

const COMPONENT_PREFIX = '#/components/schemas/';

/** Every schema that becomes a component: the API's own and each domain schema with a `meta` id they use. */
const COMPONENT_SCHEMAS: readonly z.ZodType[] = [
  ThreadSchema,
  ThreadPageSchema,
  MessageSchema,
  MessagePageSchema,
  PostMessageRequestSchema,
  AccountSchema,
  RegisterAccountRequestSchema,
  RegisteredAccountSchema,
  AccountListSchema,
  MediaLinkSchema,
  ErrorSchema,
  ContentSchema,
  OutboundContentSchema,
  ChannelSchema,
  ChannelRouteSchema,
  ConversationRefSchema,
  AuthorSchema,
  FailureSchema,
  TextEntitySchema,
  MediaRefSchema,
  QuickReplySchema,
];

// Query objects are converted with the components (so their `Channel` is a $ref), then taken apart into
// parameters; these ids never reach the document.
const QUERY_IDS = {
  listThreads: '__ThreadListQuery',
  listMessages: '__MessageListQuery',
  listAccounts: '__AccountListQuery',
} as const;

const jsonOf = (value: unknown): Json => JSON.parse(JSON.stringify(value)) as Json;

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Rewrites every `$ref` zod pointed into its shared `$defs` so it points at the component instead. */
const rewriteRefs = (value: Json): Json => {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => {
      if (key === '$ref' && typeof v === 'string') {
        const shared = /^#\/components\/schemas\/__shared#\/\$defs\/(.+)$/.exec(v);
        return [key, shared ? `${COMPONENT_PREFIX}${shared[1]}` : v];
      }
      return [key, rewriteRefs(v)];
    }),
  );
};

const convertSchemas = (): Record<string, JsonObject> => {
  const registry = z.registry<{ id: string }>();
  for (const schema of COMPONENT_SCHEMAS) {
    const id = z.globalRegistry.get(schema)?.id;
    if (typeof id !== 'string') throw new Error('every component schema needs a meta id');
    registry.add(schema, { id });
  }
  registry.add(ThreadListQuerySchema, { id: QUERY_IDS.listThreads });
  registry.add(MessageListQuerySchema, { id: QUERY_IDS.listMessages });
  registry.add(AccountListQuerySchema, { id: QUERY_IDS.listAccounts });
  // Output shapes: what the API answers. Request bodies are stricter than this in one way only
  // (`additionalProperties: false` is documented where zod would merely drop unknown keys).
  const converted = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'output',
    uri: (id) => `${COMPONENT_PREFIX}${id}`,
  });
  const schemas: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries(converted.schemas)) {
    const json = jsonOf(schema);
    if (!isObject(json)) throw new Error(`schema ${id} did not convert to an object`);
    if (id === '__shared') {
      // A nested schema with a meta id missing from COMPONENT_SCHEMAS still becomes a component.
      const defs = json.$defs;
      if (isObject(defs)) for (const [defId, def] of Object.entries(defs)) if (isObject(def)) schemas[defId] = def;
      continue;
    }
    // A component is not a standalone document: `$id` would change how its `$ref`s resolve.
    const { $schema: _schema, $id: _id, ...rest } = json;
    schemas[id] = rest;
  }
  const rewritten = rewriteRefs(schemas);
  if (!isObject(rewritten)) throw new Error('unreachable');
  return Object.fromEntries(Object.entries(rewritten).filter((e): e is [string, JsonObject] => isObject(e[1])));
};

const ref = (id: string): JsonObject => ({ $ref: `${COMPONENT_PREFIX}${id}` });
const jsonContent = (schema: JsonObject): JsonObject => ({ 'application/json': { schema } });

/** Query parameters from a query object schema: required when zod would refuse it missing. */
const queryParameters = (query: z.ZodObject, converted: JsonObject): JsonObject[] => {
  const properties = isObject(converted.properties) ? converted.properties : {};
  return Object.entries(query.shape).map(([name, field]) => {
    const schema = properties[name];
    if (!isObject(schema)) throw new Error(`query parameter ${name} did not convert`);
    return { name, in: 'query', required: !field.safeParse(undefined).success, ...describedSchema(schema) };
  });
};

/** A parameter's `description` belongs on the parameter, not inside its schema. */
const describedSchema = (json: JsonObject): JsonObject => {
  const { $schema: _, description, ...schema } = json;
  return { ...(typeof description === 'string' && { description }), schema };
};

const standaloneParameter = (name: string, location: 'path' | 'header', required: boolean, schema: z.ZodType) => {
  const json = jsonOf(z.toJSONSchema(schema, { target: 'draft-2020-12' }));
  if (!isObject(json)) throw new Error(`parameter ${name} did not convert`);
  return { name, in: location, required, ...describedSchema(json) };
};

const STATUS_NAMES: Record<(typeof ERROR_STATUS)[ErrorCode], string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  422: 'UnprocessableContent',
  500: 'InternalError',
  503: 'Unavailable',
};
type ErrorStatus = keyof typeof STATUS_NAMES;

const ERROR_MEANINGS: Record<ErrorCode, string> = {
  invalid_request: 'the request does not match the schema (see `details.issues`)',
  invalid_cursor: 'the cursor was not one this API gave out',
  unauthorized: 'the API key is missing or wrong',
  not_found: 'no such thread, or no such route',
  method_not_allowed: 'the route exists, with other methods (see `Allow`)',
  idempotency_key_reused: 'the Idempotency-Key was first used with a different request',
  credentials_managed_elsewhere: "the account's credentials were put in the secret store outside the API (by DevOps); change them there",
  payload_too_large: `the body is over ${MAX_API_BODY_BYTES} bytes`,
  media_not_copied: "the message's media is not (or not yet) in Parley's storage: the copy is made shortly after the message arrives",
  media_too_large: `the media is over ${MAX_INLINE_MEDIA_BYTES} bytes, more than one answer can carry`,
  unsupported_content: 'the channel cannot carry this type of content',
  channel_not_in_thread: 'the customer has not written on that channel in this thread, so there is no one to reply to there',
  channel_unavailable: 'the channel is not enabled on this deployment',
  unknown_channel: 'no such channel is enabled on this deployment',
  internal: 'an unexpected error; nothing about it is disclosed',
  unavailable: 'a dependency is down; retry (with the same Idempotency-Key) after `Retry-After` seconds',
};

const errorResponses = (): Record<string, JsonObject> => {
  const responses: Record<string, JsonObject> = {};
  for (const status of Object.keys(STATUS_NAMES).map(Number) as ErrorStatus[]) {
    const codes = (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => ERROR_STATUS[code] === status);
    responses[STATUS_NAMES[status]] = {
      description: codes.map((code) => `\`${code}\`: ${ERROR_MEANINGS[code]}`).join('; '),
      ...(status === 401 && { headers: { 'WWW-Authenticate': { $ref: '#/components/headers/WWW-Authenticate' } } }),
      ...(status === 503 && { headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } } }),
      content: jsonContent(ref('Error')),
    };
  }
  return responses;
};

const errors = (...statuses: ErrorStatus[]): Record<string, JsonObject> =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/${STATUS_NAMES[s]}` }]));

const param = (name: string): JsonObject => ({ $ref: `#/components/parameters/${name}` });

const build = (): OpenApiDocument => {
  const converted = convertSchemas();
  const threadListQuery = converted[QUERY_IDS.listThreads];
  const messageListQuery = converted[QUERY_IDS.listMessages];
  const accountListQuery = converted[QUERY_IDS.listAccounts];
  if (!threadListQuery || !messageListQuery || !accountListQuery) throw new Error('query schemas did not convert');
  const schemas = Object.fromEntries(Object.entries(converted).filter(([id]) => !id.startsWith('__')));

  const operations: Record<OperationId, JsonObject> = {
    getOpenApiDocument: {
      summary: 'This document',
      description: 'The OpenAPI 3.1 document of this API.',
      responses: {
        '200': { description: 'The document', content: jsonContent({ type: 'object' }) },
        ...errors(401, 500),
      },
    },
    listAccounts: {
      summary: 'Registered channel accounts',
      description: 'The channel accounts registered with `POST /v1/accounts`, of every channel or of one.',
      parameters: queryParameters(AccountListQuerySchema, accountListQuery),
      responses: { '200': { description: 'The accounts', content: jsonContent(ref('AccountList')) }, ...errors(400, 401, 500) },
    },
    registerAccount: {
      summary: 'Register a channel account',
      description:
        'Records a channel account (a bot, page or phone number) this deployment serves, and answers with the ' +
        "path its provider's webhooks go to. Registering an account again is harmless: it changes only its " +
        '`name` (when given) and keeps its first `createdAt`. `credentials`, when given, are kept in the ' +
        "deployment's secret store (Secrets Manager in AWS, the data dir locally) and never answered back; " +
        'sending them again replaces them. Other Lambda containers see new credentials within 30 seconds, rotated ' +
        "ones within 5 minutes. `configured` tells whether the account's webhook credentials are in place.",
      requestBody: { required: true, content: jsonContent(ref('RegisterAccountRequest')) },
      responses: {
        '201': { description: 'The account as registered', content: jsonContent(ref('RegisteredAccount')) },
        ...errors(400, 401, 409, 413, 422, 500, 503),
      },
    },
    listThreads: {
      summary: 'Threads of a channel identity',
      description: 'Threads in which this channel identity took part, newest first.',
      parameters: queryParameters(ThreadListQuerySchema, threadListQuery),
      responses: { '200': { description: 'One page of threads', content: jsonContent(ref('ThreadPage')) }, ...errors(400, 401, 500) },
    },
    getThread: {
      summary: 'One thread',
      parameters: [param('threadId')],
      responses: { '200': { description: 'The thread', content: jsonContent(ref('Thread')) }, ...errors(401, 404, 500) },
    },
    listMessages: {
      summary: "A thread's messages",
      description: 'Messages of the thread, oldest first.',
      parameters: [param('threadId'), ...queryParameters(MessageListQuerySchema, messageListQuery)],
      responses: {
        '200': { description: 'One page of messages', content: jsonContent(ref('MessagePage')) },
        ...errors(400, 401, 404, 500),
      },
    },
    postMessage: {
      summary: "Send an agent's reply",
      description:
        "Queues an agent's message on the customer's most recent channel, or on `channel`. Answers at once with " +
        'the stored message, `queued` until the provider accepts it; its `status` moves on as the provider reports ' +
        'delivery. Long texts are split and quick replies beyond a channel\'s limits are rendered as text by the sender. ' +
        'With an `Idempotency-Key`, a retry of the same request answers with the message the first one created ' +
        '(`Idempotent-Replayed: true`) and sends nothing again. A message that could not be queued (503) is ' +
        'recorded `failed` with the failure message `could not be queued` and is never sent; retried with the ' +
        'same key, the request makes a new attempt.',
      parameters: [param('threadId'), param('Idempotency-Key')],
      requestBody: { required: true, content: jsonContent(ref('PostMessageRequest')) },
      responses: {
        '202': {
          description: 'The message, queued for delivery (or, for a repeated Idempotency-Key, as it is now)',
          headers: { 'Idempotent-Replayed': { $ref: '#/components/headers/Idempotent-Replayed' } },
          content: jsonContent(ref('Message')),
        },
        ...errors(400, 401, 404, 409, 413, 422, 500, 503),
      },
    },
    getMessageMedia: {
      summary: "A message's media",
      description:
        "The media a customer sent (image, audio, video, file, sticker), from Parley's own copy: providers' links " +
        'expire (WhatsApp\'s within minutes), so Parley copies the media shortly after the message arrives and records ' +
        "it in the message's `mediaCopy`. Until then the answer is 404 `media_not_copied`. The body is the media " +
        `itself, with its \`Content-Type\`; it is served as an attachment. Media over ${MAX_INLINE_MEDIA_BYTES} bytes ` +
        `is answered 302 with a link valid for ${MEDIA_LINK_SECONDS} seconds (the \`Location\` header, and in the body), ` +
        'where the deployment can issue one (S3); otherwise 413 `media_too_large`. Clients that follow redirects get the ' +
        'bytes either way; the link needs no credentials, so do not send the API key to it.',
      parameters: [param('threadId'), param('messageId')],
      responses: {
        '200': {
          description: 'The media bytes',
          headers: { 'Content-Disposition': { $ref: '#/components/headers/Content-Disposition' } },
          content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
        },
        '302': {
          description: 'The media is larger than one answer carries: a short-lived link to it',
          headers: { Location: { description: 'The link', schema: { type: 'string' } } },
          content: jsonContent(ref('MediaLink')),
        },
        ...errors(401, 404, 413, 500),
      },
    },
  };

  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of ROUTES) {
    const operation = operations[route.operationId];
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      ...operation,
    };
  }

  return {
    openapi: '3.1.1',
    info: {
      title: 'Parley integrator API',
      version: OPENAPI_DOCUMENT_VERSION,
      description:
        'Read unified customer threads across WhatsApp, Messenger, Instagram, LINE, KakaoTalk and Telegram, and ' +
        'reply on any of their channels. Errors are JSON `{ code, message, details? }` with a stable `code`.',
    },
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An integrator API key, sent as `Authorization: Bearer <key>`.',
        },
      },
      parameters: {
        threadId: standaloneParameter('threadId', 'path', true, ThreadIdSchema),
        messageId: standaloneParameter('messageId', 'path', true, MessageIdSchema),
        'Idempotency-Key': standaloneParameter('Idempotency-Key', 'header', false, IdempotencyKeySchema),
      },
      responses: errorResponses(),
      headers: {
        'Idempotent-Replayed': {
          description: 'Present, `true`, when the answer repeats the message an earlier request with this key created',
          schema: { type: 'string', const: 'true' },
        },
        'Content-Disposition': {
          description: '`attachment`, with the file name the customer gave when there is one',
          schema: { type: 'string' },
        },
        'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
        'WWW-Authenticate': { description: 'The authentication scheme: `Bearer`', schema: { type: 'string' } },
      },
    },
  };
};

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
};

let cached: OpenApiDocument | undefined;

/** The document, built on first use and shared (frozen) afterwards. */
export const buildOpenApiDocument = (): OpenApiDocument => (cached ??= deepFreeze(build()));
