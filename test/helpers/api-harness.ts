/**
 * The integrator API over a given thread store, with a settable clock, a recording outbound queue, a
 * collecting log and fixed channel capabilities, plus helpers to seed customers and call the API the way
 * the Lambda handler and the local runtime do.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { apiKeyRecord, generateApiKey } from '../../api/auth.ts';
import { buildOpenApiDocument } from '../../api/openapi.ts';
import { createApi, type ApiDeps, type ApiRequest, type ApiResponse } from '../../api/router.ts';
import { accountOf } from '../../connectors/capabilities.ts';
import type { ChannelCapabilities } from '../../domain/connector.ts';
import type { Channel, Content } from '../../domain/content.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import type { Message, Thread } from '../../domain/model.ts';
import type { Log, MediaStore, OutboundJob, ThreadStore, WorkQueue } from '../../domain/ports.ts';
import { MemoryMediaStore } from './memory-media-store.ts';

export const START = new Date('2026-11-26T10:00:00.000Z');

export class TestClock {
  current = new Date(START);
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Records what was queued; `failures` makes the next N sends throw, as SQS does when it is unreachable. */
export class RecordingQueue implements WorkQueue<OutboundJob> {
  readonly sent: OutboundJob[] = [];
  failures = 0;
  async send(message: OutboundJob): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('connect ETIMEDOUT sqs.eu-west-1.amazonaws.com:443');
    }
    this.sent.push(structuredClone(message));
  }
}

export interface LogEntry {
  readonly level: keyof Log;
  readonly message: string;
  readonly extra?: Record<string, unknown> | undefined;
}

export const collectingLog = (): Log & { readonly entries: LogEntry[] } => {
  const entries: LogEntry[] = [];
  const at = (level: keyof Log) => (message: string, extra?: Record<string, unknown>) => {
    entries.push({ level, message, extra });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

const capability = (outboundTypes: ChannelCapabilities['outboundTypes']): ChannelCapabilities => ({
  outboundTypes,
  maxTextLength: 4096,
  maxCaptionLength: 1024,
  quickReplies: { max: 10, maxPayloadBytes: 64, maxLabelLength: 20 },
  buttons: { max: 3, maxLabelLength: 20, url: true },
  messageTags: [],
  inboundTypes: ['text'],
});

/**
 * Telegram carries everything but templates; LINE (here) only text, location and lists, and has the human
 * agent tag; KakaoTalk text; WhatsApp has no connector.
 */
export const CAPABILITIES: Partial<Record<Channel, ChannelCapabilities>> = {
  telegram: capability(['text', 'image', 'audio', 'video', 'file', 'sticker', 'location', 'list']),
  line: { ...capability(['text', 'location', 'list']), messageTags: ['human_agent'] },
  kakaotalk: capability(['text']),
};

/** A request body from `test/fixtures/api/`, as the raw text a client would send. */
export const fixture = (name: string): string => readFileSync(new URL(`../fixtures/api/${name}`, import.meta.url), 'utf8');

export interface Customer {
  readonly thread: Thread;
  readonly externalUserId: string;
}

export const createHarness = async (
  store: ThreadStore,
  clock = new TestClock(),
  media: MediaStore = new MemoryMediaStore(),
  /** Channel credentials, for `configured` on accounts and credentials put with them; absent, the API cannot tell. */
  credentials: Pick<ApiDeps, 'secrets'> = {},
) => {
  const outbound = new RecordingQueue();
  const log = collectingLog();
  const api = createApi({
    store,
    outbound,
    media,
    clock,
    log,
    capabilities: (channel) => CAPABILITIES[channel],
    // The real channels' accounts, for the channels this harness serves.
    account: (channel) => (CAPABILITIES[channel] ? accountOf(channel) : undefined),
    openApiDocument: buildOpenApiDocument,
    ...credentials,
  });
  const key = generateApiKey();
  await store.putApiKey(apiKeyRecord(key.secret, 'tests', START.toISOString()));

  /** A customer writes on `channel`: identity, open thread, message and activity, as the thread writer stores them. */
  const customerWrites = async (
    channel: Channel,
    externalUserId: string,
    content: Content = { type: 'text', text: 'hello' },
    at: Date = clock.now(),
    /** A group the customer writes in (its own thread); the customer's direct chat when absent. */
    groupId?: string,
  ): Promise<Customer> => {
    const accountId = `${channel}-bot`;
    const conversation = groupId ? { externalId: groupId, kind: 'group' as const } : { externalId: externalUserId, kind: 'direct' as const };
    const identity = await store.ensureIdentity({ channel, accountId, externalId: conversation.externalId, kind: conversation.kind }, at.toISOString());
    const open = await store.ensureOpenThread(identity.contactId, at.toISOString());
    // Unique across harnesses: provider ids are unique per account, and a shared store remembers them.
    const externalId = `in-${randomUUID()}`;
    const message: Message = {
      id: newMessageId(at, at, channel, accountId, externalId),
      threadId: open.id,
      direction: 'inbound',
      channel,
      accountId,
      externalId,
      occurredAt: at.toISOString(),
      author: { role: 'customer', id: identity.contactId, externalUserId },
      content,
      status: 'received',
    };
    await store.insertMessage(message);
    await store.recordActivity(open.id, {
      channel,
      at: at.toISOString(),
      direction: 'inbound',
      participant: { externalUserId },
      route: { channel, accountId, conversation, lastInboundAt: at.toISOString() },
    });
    const thread = await store.getThread(open.id);
    if (!thread) throw new Error('seeded thread vanished');
    return { thread, externalUserId };
  };

  /** Adds another channel identity of the same contact to a thread, as if the customer wrote there too. */
  const alsoWritesOn = async (threadId: string, channel: Channel, externalUserId: string, at: Date = clock.now()): Promise<Thread> => {
    await store.recordActivity(threadId, {
      channel,
      at: at.toISOString(),
      direction: 'inbound',
      participant: { externalUserId },
      route: { channel, accountId: `${channel}-bot`, conversation: { externalId: externalUserId, kind: 'direct' }, lastInboundAt: at.toISOString() },
    });
    const thread = await store.getThread(threadId);
    if (!thread) throw new Error('thread vanished');
    return thread;
  };

  interface CallOptions {
    readonly query?: Record<string, string>;
    readonly headers?: Record<string, string>;
    readonly body?: string;
    /** Send no Authorization header (the default sends the test key's). */
    readonly anonymous?: boolean;
    readonly principal?: ApiRequest['principal'];
  }

  const call = async (method: string, path: string, options: CallOptions = {}) => {
    const response: ApiResponse = await api({
      method,
      path,
      query: options.query ?? {},
      headers: {
        ...(!options.anonymous && { authorization: `Bearer ${key.secret}` }),
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body,
      ...(options.principal && { principal: options.principal }),
    });
    // Media answers are bytes, not JSON.
    const json = (response.isBase64Encoded ? {} : JSON.parse(response.body)) as Record<string, unknown> & { code?: string };
    return { ...response, json };
  };

  const postMessage = (threadId: string, body: unknown, headers: Record<string, string> = {}) =>
    call('POST', `/v1/threads/${encodeURIComponent(threadId)}/messages`, {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers,
    });

  return { api, store, clock, outbound, media, log, key, call, postMessage, customerWrites, alsoWritesOn };
};

export type Harness = Awaited<ReturnType<typeof createHarness>>;
