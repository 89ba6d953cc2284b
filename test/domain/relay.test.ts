/**
 * The outbox relay's decisions (domain/events/relay.ts) on events as the store's stream yields them: every
 * event goes on the bus, and a message that became `queued` goes to its channel's outbound queue, after its
 * events were accepted. Also the outbox's event ids (domain/events/outbox.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { applyEvent } from '../../domain/conversations/inbound.ts';
import { advanceStatus } from '../../domain/conversations/messages.ts';
import type { StoredMessage } from '../../domain/conversations/ports.ts';
import { requeue, type OutboundJob } from '../../domain/delivery/outbound.ts';
import type { DomainEvent } from '../../domain/events/domain-events.ts';
import { freshEvent, onceEvent } from '../../domain/events/outbox.ts';
import { deliveryJobOf, relayEvents } from '../../domain/events/relay.ts';
import { captureLog, fixtureEvent, startConversations, type ConversationHarness, minaWithQueuedReply } from '../helpers/conversations.ts';

let h: ConversationHarness;
beforeEach(async () => {
  h = await startConversations();
});
afterEach(() => h.stop());

const minaText = fixtureEvent('telegram', 'private-text-entities', 'message.received');
const whatsappEcho = fixtureEvent('whatsapp', 'echo-coexistence', 'message.received');

const replyQueued = (): Promise<StoredMessage> => minaWithQueuedReply(h);

const recorder = (failPublish?: Error, failQueue?: Error) => {
  const published: DomainEvent[][] = [];
  const queued: OutboundJob[] = [];
  const order: string[] = [];
  return {
    published,
    queued,
    order,
    deps: {
      bus: {
        publish: async (events: readonly DomainEvent[]) => {
          if (failPublish) throw failPublish;
          published.push([...events]);
          order.push(`publish ${events.length}`);
        },
      },
      outbound: {
        send: async (job: OutboundJob) => {
          if (failQueue) throw failQueue;
          queued.push(job);
          order.push('queue');
        },
      },
    },
  };
};

describe('deliveryJobOf', () => {
  it('asks for a delivery of a reply the API queued', async () => {
    const reply = await replyQueued();
    const created = (await h.eventsOf('message.created'))[0]!;
    // The job names the event it came from: a second job for the message (the API's fast path) stands aside.
    expect(deliveryJobOf(created)).toEqual({
      kind: 'deliver',
      channel: 'telegram',
      threadId: reply.threadId,
      messageId: 'msg_reply',
      job: created.id,
    });
  });

  it('asks for one when a failed message is queued again', async () => {
    const reply = await replyQueued();
    const current = await h.store.getMessage(reply.threadId, reply.id);
    await h.store.commit([
      {
        kind: 'message',
        op: 'put',
        value: { ...current!.value, status: 'failed', failure: { kind: 'retryable', message: 'timeout' } },
        version: current!.version,
      },
    ]);
    await requeue((await h.store.getMessage(reply.threadId, reply.id))!, { store: h.store, clock: h.clock, log: captureLog() });
    const [status] = await h.eventsOf('message.status');
    expect(deliveryJobOf(status!)).toEqual({
      kind: 'deliver',
      channel: 'telegram',
      threadId: reply.threadId,
      messageId: 'msg_reply',
      job: status!.id,
    });
  });

  it('asks for nothing else: customer messages, echoes already sent, statuses past queued, other events', async () => {
    const reply = await replyQueued();
    // A message sent from the provider's own app, echoed: stored as sent.
    await applyEvent(
      { ...whatsappEcho, channel: 'telegram', accountId: '7712345678', conversation: minaText.conversation },
      { store: h.store, log: captureLog(), clock: h.clock, capabilities: capabilitiesOf },
    );
    // The reply sent.
    const current = await h.store.getMessage(reply.threadId, reply.id);
    const change = advanceStatus(current!.value, { status: 'sent', at: '2026-03-14T01:00:01.000Z', externalIds: ['5550101234:1'] });
    await h.store.commit([{ kind: 'message', op: 'put', value: change.message, version: current!.version, events: change.events }]);
    expect((await h.events()).map((e) => [e.type, (deliveryJobOf(e) as { messageId?: string } | undefined)?.messageId])).toEqual([
      ['contact.created', undefined],
      ['thread.created', undefined],
      ['message.received', undefined],
      ['message.created', 'msg_reply'],
      ['message.created', undefined],
      ['message.status', undefined],
      ['message.sent', undefined],
    ]);
  });
});

describe('relayEvents', () => {
  it('publishes every event of a write, then queues the deliveries they ask for', async () => {
    const reply = await replyQueued();
    const events = await h.events();
    const { deps, published, queued, order } = recorder();
    await relayEvents(events, deps);
    expect(published).toEqual([events]);
    const created = events.find((e) => e.type === 'message.created')!;
    expect(queued).toEqual([{ kind: 'deliver', channel: 'telegram', threadId: reply.threadId, messageId: 'msg_reply', job: created.id }]);
    expect(order).toEqual(['publish 4', 'queue']);
  });

  it('queues nothing when the bus refuses, and says so', async () => {
    await replyQueued();
    const { deps, queued } = recorder(new Error('EventBridge throttled'));
    await expect(relayEvents(await h.events(), deps)).rejects.toThrow('EventBridge throttled');
    expect(queued).toEqual([]);
  });

  it('fails when the queue refuses, so the stream delivers the record again', async () => {
    await replyQueued();
    const { deps, published } = recorder(undefined, new Error('SQS unavailable'));
    await expect(relayEvents(await h.events(), deps)).rejects.toThrow('SQS unavailable');
    expect(published).toHaveLength(1);
  });

  it('does nothing for no events', async () => {
    const { deps, order } = recorder(new Error('must not be called'));
    await relayEvents([], deps);
    expect(order).toEqual([]);
  });
});

describe('outbox events', () => {
  it('derive a once-only event id from what it is about, and give fresh events new ids', () => {
    const a = onceEvent('message.received', '2026-03-14T01:00:00.000Z', ['th_1', 'msg_1']);
    expect(a).toEqual({ id: expect.stringMatching(/^evt_[A-Za-z0-9_-]{22}$/), type: 'message.received', at: '2026-03-14T01:00:00.000Z' });
    expect(onceEvent('message.received', '2026-03-14T02:00:00.000Z', ['th_1', 'msg_1']).id).toBe(a.id);
    expect(onceEvent('message.created', '2026-03-14T01:00:00.000Z', ['th_1', 'msg_1']).id).not.toBe(a.id);
    expect(onceEvent('message.received', '2026-03-14T01:00:00.000Z', ['th_1', 'msg_2']).id).not.toBe(a.id);
    expect(onceEvent('contact.updated', 'x', ['c'], { changes: ['name'] })).toMatchObject({ extra: { changes: ['name'] } });
    const fresh = freshEvent('thread.updated', '2026-03-14T01:00:00.000Z', { changes: ['status'] });
    expect(fresh).toEqual({
      id: expect.stringMatching(/^evt_/),
      type: 'thread.updated',
      at: '2026-03-14T01:00:00.000Z',
      extra: { changes: ['status'] },
    });
    expect(freshEvent('thread.updated', fresh.at).id).not.toBe(fresh.id);
    expect(freshEvent('thread.updated', fresh.at)).not.toHaveProperty('extra');
  });
});
