/**
 * The outbox relay Lambda on the table's real change stream: the local engine's stream records (filtered as the
 * event source mapping filters them) of writes the thread writer and the API make, published in the order they
 * were written, a reply queued for its channel's sender, the first failure stopping the batch, and a record
 * that can never become events parked with its images.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoWebhookStore } from '../../adapters/aws/store/webhooks.ts';
import { eventsOfStreamRecord } from '../../adapters/aws/store/stream-events.ts';
import { compilePattern } from '../../topology/event-pattern.ts';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { applyEvent } from '../../domain/conversations/inbound.ts';
import type { StoredMessage } from '../../domain/conversations/ports.ts';
import type { OutboundJob } from '../../domain/delivery/outbound.ts';
import type { DomainEvent } from '../../domain/events/domain-events.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { memoryMetrics } from '../../functions/kit/observability.ts';
import { create, wantedByRules } from '../../functions/outbox-relay.ts';
import { FUNCTIONS, RULES } from '../../topology/topology.ts';
import { captureLog, fixtureEvent, startConversations, type ConversationHarness, minaWithQueuedReply } from '../helpers/conversations.ts';

let h: ConversationHarness;
beforeEach(async () => {
  // Some tests here write records that can never become events, on purpose.
  h = await startConversations({ unreadableRecords: 'allowed' });
});
afterEach(() => h.stop());

const minaPhoto = fixtureEvent('telegram', 'photo-caption', 'message.received');

const spec = FUNCTIONS['outbox-relay'];
const filters = (spec.stream?.filters ?? []).map((pattern) => compilePattern(pattern));
/** The records Lambda would be invoked with: those the mapping's filter lets through. */
const streamEvent = async (): Promise<DynamoDBStreamEvent> => ({
  Records: (await h.records()).filter((r) => filters.some((matches) => matches(r))),
});

const relay = (options: { failPublishAt?: number; failQueue?: boolean; failPark?: boolean; onlyWanted?: boolean } = {}) => {
  const published: DomainEvent[][] = [];
  const jobs: OutboundJob[] = [];
  const parked: unknown[] = [];
  const metrics = memoryMetrics();
  const log = captureLog();
  let calls = 0;
  const handler = create(
    {
      domainBus: {
        publish: async (events) => {
          calls += 1;
          if (calls === options.failPublishAt) throw new Error('EventBridge throttled');
          published.push([...events]);
        },
      },
      outbound: {
        send: async (job) => {
          if (options.failQueue) throw new Error('SQS unavailable');
          jobs.push(job);
        },
      },
      queue: (name) => ({
        send: async (message) => {
          if (name !== 'outbox-parked') throw new Error(`no queue ${name} for the relay`);
          if (options.failPark) throw new Error('parked queue unavailable');
          parked.push(message);
        },
      }),
      webhooks: new DynamoWebhookStore(h.table),
      clock: h.clock,
      observability: { log, metrics, middlewares: [] },
    },
    options.onlyWanted === true ? {} : { PUBLISH_ALL_DOMAIN_EVENTS: 'true' },
  );
  return { published, jobs, parked, metrics, log, run: (event: DynamoDBStreamEvent) => handler(event, localContext('outbox-relay')) };
};

const conversation = (): Promise<StoredMessage> => minaWithQueuedReply(h);

const sequenceOf = (record: DynamoDBRecord) => record.dynamodb?.SequenceNumber;

describe('the outbox relay function', () => {
  it('receives only the writes that carry events, and publishes them in the order they were written', async () => {
    const reply = await conversation();
    const event = await streamEvent();
    // The pointer and the thread's activity carry no events: the filter keeps them away.
    expect((await h.records()).length).toBeGreaterThan(event.Records.length);
    const { run, published, jobs, metrics } = relay();
    expect(await run(event)).toEqual({ batchItemFailures: [] });
    expect(published.flat().map((e) => e.type)).toEqual(['contact.created', 'thread.created', 'message.received', 'message.created']);
    expect(published.flat()).toEqual(event.Records.flatMap(eventsOfStreamRecord));
    // One write's events in one publish.
    expect(published.map((batch) => batch.length)).toEqual(event.Records.map((r) => eventsOfStreamRecord(r).length));
    const created = published.flat().find((e) => e.type === 'message.created')!;
    expect(jobs).toEqual([{ kind: 'deliver', channel: 'telegram', threadId: reply.threadId, messageId: 'msg_reply', job: created.id }]);
    expect(metrics.totals.get('DomainEventsPublished')).toBe(4);
  });

  it('puts on the bus only the events a rule or a webhook subscription wants (each entry is billed)', async () => {
    await conversation();
    const event = await streamEvent();
    const quiet = relay({ onlyWanted: true });
    expect(await quiet.run(event)).toEqual({ batchItemFailures: [] });
    const all = event.Records.flatMap(eventsOfStreamRecord);
    // The thread's creation feeds the assigner; the messages and the contact interest no rule and no subscription here.
    expect(quiet.published.flat().map((e) => e.type)).toEqual(['thread.created']);
    expect(all.length).toBeGreaterThan(1);
    // The relay still handled every event: the reply's delivery job is queued though nothing on the bus wants it.
    expect(quiet.jobs).toHaveLength(1);
  });

  it("matches a rule's whole pattern: a status goes on the bus only for a campaign's message", () => {
    const wanted = wantedByRules(RULES);
    const status = (notification?: { campaignId: string }) =>
      ({
        id: 'evt_1',
        type: 'message.status',
        schemaVersion: 1,
        createdAt: '2026-03-14T01:00:00.000Z',
        data: {
          message: { id: 'msg_1', status: 'delivered', ...(notification && { notification: { purpose: 'marketing', ...notification } }) },
        },
      }) as unknown as DomainEvent;
    expect(wanted(status())).toBe(false);
    expect(wanted(status({ campaignId: 'cmp_1' }))).toBe(true);
  });

  it('publishes the same events, with the same ids, when the stream delivers a record again', async () => {
    await conversation();
    const event = await streamEvent();
    const first = relay();
    await first.run(event);
    const again = relay();
    await again.run(event);
    expect(again.published.flat().map((e) => e.id)).toEqual(first.published.flat().map((e) => e.id));
  });

  it('stops at the first record that fails and reports it and every later one, so a retry keeps their order', async () => {
    await conversation();
    await applyEvent(minaPhoto, { store: h.store, log: captureLog(), clock: h.clock, capabilities: capabilitiesOf });
    const event = await streamEvent();
    expect(event.Records.length).toBe(5);
    const { run, published, jobs, metrics } = relay({ failPublishAt: 3 });
    const result = await run(event);
    expect(result.batchItemFailures).toEqual(event.Records.slice(2).map((r) => ({ itemIdentifier: sequenceOf(r) })));
    expect(published.flat().map((e) => e.type)).toEqual(['contact.created', 'thread.created']);
    expect(jobs).toEqual([]);
    expect(metrics.totals.get('DomainEventsPublished')).toBe(2);

    // The retry starts from the failed record.
    const retry = relay();
    expect(await retry.run({ Records: event.Records.slice(2) })).toEqual({ batchItemFailures: [] });
    expect(retry.published.flat().map((e) => e.type)).toEqual(['message.received', 'message.created', 'message.received']);
  });

  it('fails the record whose delivery job could not be queued (and the rest)', async () => {
    await conversation();
    const event = await streamEvent();
    const { run } = relay({ failQueue: true });
    const result = await run(event);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([sequenceOf(event.Records.at(-1)!)]);
  });

  it('parks a record that can never become events, with the record, and goes on', async () => {
    await conversation();
    // An item written by hand, with an outbox attribute that is no list of events.
    await h.db.dynamo.send(
      new PutItemCommand({
        TableName: h.db.tableName,
        Item: { pk: { S: 'THREAD#by-hand' }, sk: { S: 'THREAD' }, entity: { S: 'thread' }, ev: { S: '{"not":"events"}' } },
      }),
    );
    await applyEvent(minaPhoto, { store: h.store, log: captureLog(), clock: h.clock, capabilities: capabilitiesOf });
    const event = await streamEvent();
    const { run, parked, published, log } = relay();
    expect(await run(event)).toEqual({ batchItemFailures: [] });
    const unreadable = event.Records[4]!;
    expect(parked).toEqual([{ reason: expect.any(String), record: unreadable }]);
    expect(published.flat().map((e) => e.type)).toEqual([
      'contact.created',
      'thread.created',
      'message.received',
      'message.created',
      'message.received',
    ]);
    expect(log.entries.filter((e) => e.level === 'error')).toEqual([
      {
        level: 'error',
        message: 'stream record cannot become domain events; parked in the dead-letter queue',
        extra: { sequenceNumber: sequenceOf(unreadable), error: expect.any(String) },
      },
    ]);
  });

  it('parks a record of an event type it does not know', async () => {
    await h.db.dynamo.send(
      new PutItemCommand({
        TableName: h.db.tableName,
        Item: {
          pk: { S: 'THREAD#x' },
          sk: { S: 'NOTE#1' },
          entity: { S: 'note' },
          ev: { S: JSON.stringify([{ id: 'evt_1', type: 'contact.teleported', at: '2026-03-14T01:00:00.000Z' }]) },
        },
      }),
    );
    const { run, parked } = relay();
    expect(await run(await streamEvent())).toEqual({ batchItemFailures: [] });
    expect(parked).toEqual([{ reason: 'unknown domain event type contact.teleported', record: expect.anything() }]);
  });

  it('fails an unreadable record it could not park, so it is not lost', async () => {
    await h.db.dynamo.send(
      new PutItemCommand({
        TableName: h.db.tableName,
        Item: { pk: { S: 'THREAD#by-hand' }, sk: { S: 'THREAD' }, entity: { S: 'thread' }, ev: { S: 'not json' } },
      }),
    );
    const event = await streamEvent();
    const { run } = relay({ failPark: true });
    expect((await run(event)).batchItemFailures).toEqual([{ itemIdentifier: sequenceOf(event.Records[0]!) }]);
  });

  it('does nothing for a removed item or a record whose events were published with an earlier write', async () => {
    const reply = await conversation();
    const [created] = (await streamEvent()).Records.filter((r) => eventsOfStreamRecord(r).some((e) => e.type === 'message.created'));
    const removed: DynamoDBRecord = { ...created!, eventName: 'REMOVE' };
    const repeated: DynamoDBRecord = {
      ...created!,
      eventName: 'MODIFY',
      dynamodb: { ...created!.dynamodb, OldImage: created!.dynamodb?.NewImage },
    };
    const { run, published } = relay();
    expect(await run({ Records: [removed, repeated] })).toEqual({ batchItemFailures: [] });
    expect(published).toEqual([]);
    expect(reply.id).toBe('msg_reply');
  });
});
