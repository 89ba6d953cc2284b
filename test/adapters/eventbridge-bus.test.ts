import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { connectorEntry, domainEntry, EventBridgeBus, EventBusUnavailableError } from '../../adapters/aws/eventbridge-bus.ts';
import type { ParleyEvent } from '../../domain/events.ts';
import { DomainEventSchema, type DomainEvent } from '../../domain/events/domain-events.ts';

const eventBridge = mockClient(EventBridgeClient);
beforeEach(() => eventBridge.reset());

const event = (n: number): ParleyEvent => ({
  schemaVersion: 1,
  type: 'identity.unreachable',
  eventId: `evt_${n}`,
  channel: 'telegram',
  accountId: '7712345678',
  occurredAt: '2026-03-14T00:00:00.000Z',
  receivedAt: '2026-03-14T00:00:01.000Z',
  externalUserId: String(n),
  reason: 'blocked the bot',
});
const bus = () =>
  new EventBridgeBus({ client: new EventBridgeClient({}), busName: 'parley', entryOf: connectorEntry, sleep: async () => {} });
const domainBus = () =>
  new EventBridgeBus({ client: new EventBridgeClient({}), busName: 'parley', entryOf: domainEntry, sleep: async () => {} });

/** A domain event as the outbox relay publishes it (validated, so the fixture cannot drift from the schema). */
const accountRegistered = (n: number): DomainEvent =>
  DomainEventSchema.parse({
    id: `evt_account_telegram_bot${n}`,
    type: 'account.registered',
    schemaVersion: 1,
    createdAt: '2026-03-14T00:00:02.000Z',
    data: { account: { channel: 'telegram', accountId: `bot${n}`, createdAt: '2026-03-14T00:00:02.000Z' } },
  }) as DomainEvent;
const entryIds = (call: number) =>
  (eventBridge.commandCalls(PutEventsCommand)[call]?.args[0].input.Entries ?? []).map(
    (e) => (JSON.parse(e.Detail ?? '{}') as ParleyEvent).eventId,
  );

describe('EventBridgeBus', () => {
  it('puts each event with the documented source, detail-type and detail on the named bus', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }] });
    await bus().publish([event(1)]);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'parley',
          Source: 'parley.connectors',
          DetailType: 'identity.unreachable',
          Detail: JSON.stringify(event(1)),
          Time: new Date('2026-03-14T00:00:01.000Z'),
        },
      ],
    });
  });

  it('sends at most 10 entries per call', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: String(i) })),
    }));
    await bus().publish(Array.from({ length: 23 }, (_, i) => event(i)));
    expect(eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
  });

  it('retries only the entries PutEvents reported as failed', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }, { EventId: 'c' }],
      })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    await bus().publish([event(1), event(2), event(3)]);
    expect(entryIds(1)).toEqual(['evt_2']);
  });

  it('throws, naming the failed events, when entries keep failing, so the webhook answers 5xx', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    const error = await bus()
      .publish([event(1)])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventBusUnavailableError);
    expect((error as EventBusUnavailableError).failedEntries).toEqual([{ eventId: 'evt_1', errorCode: 'InternalFailure' }]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(4);
  });

  it('lets a service error surface', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('AccessDeniedException'));
    await expect(bus().publish([event(1)])).rejects.toThrow('AccessDeniedException');
  });

  it('puts a domain event with source parley.domain, its type as detail-type and its creation time', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }] });
    await domainBus().publish([accountRegistered(1)]);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'parley',
          Source: 'parley.domain',
          DetailType: 'account.registered',
          Detail: JSON.stringify(accountRegistered(1)),
          Time: new Date('2026-03-14T00:00:02.000Z'),
        },
      ],
    });
  });

  it('names a domain event that keeps failing by its id', async () => {
    // EventBridge keeps throttling bot2's entry and accepts the others.
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: { Detail: string }[] }) => {
      const results = input.Entries.map((e) =>
        e.Detail.includes('"bot2"') ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : { EventId: 'a' },
      );
      return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
    });
    const error = await domainBus()
      .publish([accountRegistered(1), accountRegistered(2)])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventBusUnavailableError);
    expect((error as EventBusUnavailableError).failedEntries).toEqual([
      { eventId: 'evt_account_telegram_bot2', errorCode: 'ThrottlingException' },
    ]);
    // The accepted one is not sent again: only the failed entry is retried.
    expect(
      eventBridge
        .commandCalls(PutEventsCommand)
        .slice(1)
        .map((c) => c.args[0].input.Entries?.length),
    ).toEqual([1, 1, 1]);
  });
});
