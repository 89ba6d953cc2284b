import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import type { Message } from '../../domain/model.ts';
import { systemClock } from '../../domain/ports.ts';
import { create } from '../../functions/senders/telegram.ts';
import { createLocalLog } from '../../runtime/local-log.ts';
import { environmentOf, FUNCTIONS } from '../../topology/topology.ts';
import { MemoryThreadStore } from '../helpers/memory-thread-store.ts';

const TOKEN = '7712345678:AAtoken';
const log = createLocalLog({ level: 'silent' });

const sqs = (bodies: unknown[], receiveCount = 1): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m${i}`,
    receiptHandle: `r${i}`,
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:0:outbound-telegram',
    awsRegion: 'local',
  })),
});

/** A Bot API that records each call and answers with `answer`. */
const botApi = (answer: () => Response) => {
  const calls: { url: string; body: unknown }[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), body: JSON.parse(String(init?.body ?? '{}')) });
    return answer();
  }) as typeof globalThis.fetch;
  return { calls, fetch };
};
const accepted = () => Response.json({ ok: true, result: { message_id: 42, date: 1, chat: { id: 5550, type: 'private' } } });

const setup = async (answer: () => Response = accepted) => {
  const store = new MemoryThreadStore();
  const api = botApi(answer);
  const postponed: [string, number][] = [];
  const handler = create(
    {
      store,
      secrets: new LocalSecretStore({ telegram: { credentials: { webhookSecret: 's', botToken: TOKEN }, accountId: '7712345678' } }),
      clock: systemClock,
      log,
      fetch: api.fetch,
      apiBaseUrls: { telegram: 'http://telegram.test' },
      visibility: { setVisibilityTimeout: async (handle, seconds) => void postponed.push([handle, seconds]) },
    },
    environmentOf(FUNCTIONS['sender-telegram']),
  );
  const at = '2026-03-14T00:00:00.000Z';
  const identity = await store.ensureIdentity({ channel: 'telegram', accountId: '7712345678', externalId: '5550', kind: 'direct' }, at);
  const thread = await store.ensureOpenThread(identity.contactId, at);
  await store.recordActivity(thread.id, {
    channel: 'telegram',
    at,
    direction: 'inbound',
    route: { channel: 'telegram', accountId: '7712345678', conversation: { externalId: '5550', kind: 'direct' }, lastInboundAt: at },
  });
  const now = new Date();
  const message: Message = {
    id: newMessageId(now, now, 'sender-test'),
    threadId: thread.id,
    direction: 'outbound',
    channel: 'telegram',
    accountId: '7712345678',
    occurredAt: now.toISOString(),
    author: { role: 'agent', id: 'key_test' },
    content: { type: 'text', text: 'Your order ships today' },
    status: 'queued',
  };
  await store.insertMessage(message);
  return { store, message, handler, calls: api.calls, postponed };
};

describe("a channel's sender function", () => {
  it('delivers a job of its channel and records the provider id', async () => {
    const { store, message, handler, calls } = await setup();
    const result = await handler(sqs([{ kind: 'deliver', channel: 'telegram', threadId: message.threadId, messageId: message.id }]));
    expect(result.batchItemFailures).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe(`http://telegram.test/bot${TOKEN}/sendMessage`);
    expect(await store.getMessage(message.threadId, message.id)).toMatchObject({ status: 'sent', externalId: '5550:42' });
  });

  it("refuses another channel's job without touching the message, so it waits in the dead-letter queue", async () => {
    const { store, message, handler, calls } = await setup();
    const result = await handler(sqs([{ kind: 'deliver', channel: 'whatsapp', threadId: message.threadId, messageId: message.id }]));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(calls).toEqual([]);
    expect(await store.getMessage(message.threadId, message.id)).toMatchObject({ status: 'queued' });
  });

  it("postpones a rate-limited job by the provider's wait", async () => {
    const { store, message, handler, postponed } = await setup(() =>
      Response.json({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } }, { status: 429 }),
    );
    const result = await handler(sqs([{ kind: 'deliver', channel: 'telegram', threadId: message.threadId, messageId: message.id }]));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(postponed).toEqual([['r0', 7]]);
    expect(await store.getMessage(message.threadId, message.id)).toMatchObject({ status: 'queued' });
  });

  it('will not start without the queue settings the topology gives it', () => {
    expect(() => create({} as never, {})).toThrow(/MAX_RECEIVE_COUNT must be set/);
  });
});
