import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoThreadStore } from '../../adapters/aws/dynamo-thread-store.ts';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import type { Connector, SendRequest } from '../../domain/connector.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import type { Message } from '../../domain/model.ts';
import { backoffSeconds, deliver, type OutboundDeps } from '../../domain/outbound.ts';
import { PermanentProviderError, RateLimitedError, RetryableProviderError } from '../../domain/provider-errors.ts';
import { systemClock } from '../../domain/ports.ts';
import { createLocalLog } from '../../runtime/local-log.ts';
import { startDynalite, type Dynalite } from '../helpers/dynalite.ts';

let dynamo: Dynalite;
let store: DynamoThreadStore;
beforeAll(async () => {
  dynamo = await startDynalite();
  store = new DynamoThreadStore({ client: dynamo.client, tableName: dynamo.tableName });
});
afterAll(() => dynamo?.stop());

/** A channel whose sender plays back scripted provider answers and records what it was asked. */
const scriptedChannel = (script: ((request: SendRequest, onPart: (id: string) => Promise<void>) => Promise<string[]>)[]) => {
  const requests: SendRequest[] = [];
  const connector = {
    channel: 'telegram',
    defaultApiBaseUrl: 'http://provider.invalid',
    credentialNames: { inbound: ['webhookSecret'], outbound: ['botToken'] },
    sender: {
      capabilities: {} as Connector['sender']['capabilities'],
      send: async (request: SendRequest, context: { onPartSent: (id: string) => Promise<void> }) => {
        requests.push(structuredClone(request));
        const step = script.shift();
        if (!step) throw new Error('unexpected send');
        return { externalIds: await step(request, context.onPartSent) };
      },
      perform: async () => {},
    },
  } as unknown as Connector;
  return { connector, requests };
};

const depsWith = (connector: Connector, credentials = { webhookSecret: 's', botToken: '1:t' }): OutboundDeps => ({
  store,
  secrets: new LocalSecretStore({ telegram: { credentials, accountId: '1' } }),
  clock: systemClock,
  log: createLocalLog({ level: 'silent' }),
  fetch: globalThis.fetch,
  apiBaseUrls: {},
  connectorFor: () => connector,
});

let seq = 0;
/** A thread with a Telegram route and one queued agent message in it. */
const queuedMessage = async (text = 'hello', replyHandle?: { value: string; expiresAt: string }): Promise<Message> => {
  seq += 1;
  const chat = `7000${seq}`;
  const identity = await store.ensureIdentity({ channel: 'telegram', accountId: '1', externalId: chat, kind: 'direct' }, '2026-03-14T00:00:00.000Z');
  const thread = await store.ensureOpenThread(identity.contactId, '2026-03-14T00:00:00.000Z');
  await store.recordActivity(thread.id, {
    channel: 'telegram',
    at: '2026-03-14T00:00:00.000Z',
    direction: 'inbound',
    route: {
      channel: 'telegram',
      accountId: '1',
      conversation: { externalId: chat, kind: 'direct' },
      lastInboundAt: '2026-03-14T00:00:00.000Z',
      ...(replyHandle && { replyHandle }),
    },
  });
  const now = new Date();
  const message: Message = {
    id: newMessageId(now, now, String(seq)),
    threadId: thread.id,
    direction: 'outbound',
    channel: 'telegram',
    accountId: '1',
    occurredAt: now.toISOString(),
    author: { role: 'agent', id: 'key_test' },
    content: { type: 'text', text },
    status: 'queued',
  };
  await store.insertMessage(message);
  return message;
};
const job = (m: Message) => ({ kind: 'deliver' as const, channel: m.channel, threadId: m.threadId, messageId: m.id });
const first = { receiveCount: 1, maxReceiveCount: 5, claimToken: 'receipt-1', claimSeconds: 60 };
const reread = (m: Message) => store.getMessage(m.threadId, m.id);

describe('deliver', () => {
  it("hands the sender the message's tag and Parley id", async () => {
    const message = await queuedMessage('Following up on your order');
    await store.insertMessage({ ...message, id: `${message.id}-tagged`, messageTag: 'human_agent' });
    const { connector, requests } = scriptedChannel([async () => ['c:tagged']]);
    await deliver({ ...job(message), messageId: `${message.id}-tagged` }, first, depsWith(connector));
    expect(requests[0]).toMatchObject({ messageId: `${message.id}-tagged`, messageTag: 'human_agent' });
  });

  it('sends a queued message once, records its provider id, and ignores a second delivery of the job', async () => {
    const message = await queuedMessage();
    const { connector, requests } = scriptedChannel([async () => ['c:1']]);
    expect(await deliver(job(message), first, depsWith(connector))).toEqual({ kind: 'sent', externalIds: ['c:1'] });
    expect(await deliver(job(message), { ...first, receiveCount: 2 }, depsWith(connector))).toEqual({ kind: 'done', reason: 'already sent' });
    expect(requests).toHaveLength(1);
    expect(requests[0]?.recipient).toMatchObject({ accountId: '1', conversation: { kind: 'direct' } });
    expect(await reread(message)).toMatchObject({ status: 'sent', externalId: 'c:1' });
  });

  it("hands the sender the customer's one-time reply handle only while it has not expired", async () => {
    const inAMinute = new Date(Date.now() + 60_000).toISOString();
    const fresh = await queuedMessage('a', { value: 'token-fresh', expiresAt: inAMinute });
    const stale = await queuedMessage('b', { value: 'token-stale', expiresAt: '2026-03-14T00:01:00.000Z' });
    const { connector, requests } = scriptedChannel([async () => ['c:1'], async () => ['c:2']]);
    await deliver(job(fresh), first, depsWith(connector));
    await deliver(job(stale), first, depsWith(connector));
    expect(requests.map((r) => r.recipient.replyHandle?.value)).toEqual(['token-fresh', undefined]);
  });

  it('sends once when the same job is delivered twice at the same time', async () => {
    const message = await queuedMessage();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { connector, requests } = scriptedChannel([
      async () => {
        await gate;
        return ['c:1'];
      },
      async () => ['c:2'],
    ]);
    const one = deliver(job(message), first, depsWith(connector));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first delivery holds the claim and is sending
    const two = await deliver(job(message), { ...first, claimToken: 'receipt-2' }, depsWith(connector));
    release();
    expect(await one).toEqual({ kind: 'sent', externalIds: ['c:1'] });
    expect(two).toMatchObject({ kind: 'retry', failure: { message: 'another delivery of this message is in progress' } });
    expect(requests).toHaveLength(1);
  });

  it("waits for the provider's retry-after on a rate limit", async () => {
    const message = await queuedMessage();
    const { connector } = scriptedChannel([async () => Promise.reject(new RateLimitedError('Too Many Requests: retry after 35', 35, '429'))]);
    const outcome = await deliver(job(message), first, depsWith(connector));
    expect(outcome).toMatchObject({ kind: 'retry', delaySeconds: 35, failure: { kind: 'rate_limited', code: '429' } });
    expect((await reread(message))?.status).toBe('queued');
  });

  it('backs off on an outage, and on the last attempt records failed with the reason', async () => {
    const message = await queuedMessage();
    const outage = async () => Promise.reject(new RetryableProviderError('502 Bad Gateway', '502'));
    const { connector } = scriptedChannel([outage, outage]);
    expect(await deliver(job(message), { ...first, receiveCount: 2, maxReceiveCount: 3 }, depsWith(connector))).toMatchObject({ kind: 'retry' });
    const last = await deliver(job(message), { ...first, receiveCount: 3, maxReceiveCount: 3 }, depsWith(connector));
    expect(last).toMatchObject({ kind: 'exhausted', failure: { kind: 'retryable', code: '502', attempts: 3 } });
    expect(await reread(message)).toMatchObject({ status: 'failed', failure: { kind: 'retryable', message: '502 Bad Gateway', attempts: 3 } });
  });

  it('gives up at once when the customer blocked the bot, and sends nothing more to them', async () => {
    const message = await queuedMessage();
    const { connector, requests } = scriptedChannel([
      async () => Promise.reject(new PermanentProviderError('Forbidden: bot was blocked by the user', '403', true)),
    ]);
    expect(await deliver(job(message), first, depsWith(connector))).toMatchObject({ kind: 'failed', failure: { kind: 'permanent', code: '403' } });
    const again = await queuedMessageIn(message.threadId);
    expect(await deliver(job(again), first, depsWith(connector))).toMatchObject({ kind: 'failed', failure: { kind: 'permanent' } });
    expect(requests).toHaveLength(1);
  });

  it('resumes a split message after the parts the provider already accepted', async () => {
    const message = await queuedMessage('long');
    const { connector, requests } = scriptedChannel([
      async (_request, onPart) => {
        await onPart('c:1');
        throw new RetryableProviderError('timeout');
      },
      async (request, onPart) => {
        await onPart('c:2');
        return [...request.sentParts, 'c:2'];
      },
    ]);
    expect((await deliver(job(message), first, depsWith(connector))).kind).toBe('retry');
    expect(await deliver(job(message), { ...first, receiveCount: 2 }, depsWith(connector))).toEqual({ kind: 'sent', externalIds: ['c:1', 'c:2'] });
    expect(requests.map((r) => r.sentParts)).toEqual([[], ['c:1']]);
    expect(await reread(message)).toMatchObject({ status: 'sent', externalId: 'c:1', externalIds: ['c:1', 'c:2'] });
  });

  it('fails with an authentication failure when the channel has no sending credentials', async () => {
    const message = await queuedMessage();
    const { connector, requests } = scriptedChannel([]);
    const outcome = await deliver(job(message), first, depsWith(connector, { webhookSecret: 's', botToken: '' }));
    expect(outcome).toMatchObject({ kind: 'failed', failure: { kind: 'authentication', message: 'telegram account 1 has no botToken configured' } });
    expect(requests).toHaveLength(0);
  });
});

/** Another queued message in an existing thread. */
const queuedMessageIn = async (threadId: string): Promise<Message> => {
  const now = new Date(Date.now() + 1);
  const message: Message = {
    id: newMessageId(now, now, threadId, 'again'),
    threadId,
    direction: 'outbound',
    channel: 'telegram',
    accountId: '1',
    occurredAt: now.toISOString(),
    author: { role: 'agent' },
    content: { type: 'text', text: 'again' },
    status: 'queued',
  };
  await store.insertMessage(message);
  return message;
};

describe('backoffSeconds', () => {
  it('grows exponentially with jitter and is capped at 15 minutes', () => {
    expect(backoffSeconds(1, () => 0)).toBe(1);
    expect(backoffSeconds(3, () => 1)).toBe(8);
    expect(backoffSeconds(5, () => 0)).toBe(16);
    expect(backoffSeconds(30, () => 1)).toBe(900);
  });
});
