/**
 * The assigner Lambda on its queue: the records the bus rules deliver (domain events, as `detail`, or a whole
 * EventBridge event redriven from a dead-letter queue) route their threads and then fill free capacity; a
 * record that cannot be read fails alone, and SQS retries it.
 */
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DOMAIN_EVENT_SCHEMA_VERSION } from '../../domain/events/domain-events.ts';
import { publicThread } from '../../domain/conversations/threads.ts';
import type { StoredThread } from '../../domain/conversations/ports.ts';
import { create } from '../../functions/assigner.ts';
import { localContext } from '../../functions/kit/handler.ts';
import { logOnly } from '../../functions/kit/observability.ts';
import { startRouting, type RoutingHarness } from './harness.ts';

let h: RoutingHarness;
beforeEach(async () => {
  h = await startRouting();
});
afterEach(async () => {
  await h.stop();
});

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const created = (thread: StoredThread) => ({
  id: `evt_${thread.id}`,
  type: 'thread.created',
  schemaVersion: DOMAIN_EVENT_SCHEMA_VERSION,
  createdAt: thread.createdAt,
  data: { thread: publicThread(thread), changes: [] },
});

const sqs = (bodies: readonly string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
    receiptHandle: `r-${i}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'events',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:assignment',
    awsRegion: 'local',
  })),
});

describe('the assigner function', () => {
  it('routes the threads of its records, fails only the record it cannot read, and fills capacity', async () => {
    const handler = create({ conversations: h.conversations, routing: h.routing, clock: h.clock, observability: logOnly(silent) });
    await h.agent({ id: 'ann', capacity: 1 });
    const first = await h.thread();
    h.clock.advance(5);
    const second = await h.thread();
    // The second arrives as a whole EventBridge event, as a redrive from the dead-letter queue brings it.
    const whole = { 'detail-type': 'thread.created', source: 'parley.domain', detail: created(second) };
    const result = await handler(
      sqs([JSON.stringify(created(first)), '{"not":"an event"}', JSON.stringify(whole)]),
      localContext('assigner'),
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect((await h.conversations.getThread(first.id))?.value.assignee).toBe('ann');
    expect((await h.routing.listQueue(10)).items.map((e) => e.value.threadId)).toEqual([second.id]);

    // Ann comes online with more room: the event's pass over the queue gives her the waiting thread.
    await h.routing.commit([
      {
        kind: 'agent',
        op: 'put',
        value: { ...(await h.routing.getAgent('ann'))!.value, capacity: 2 },
        version: (await h.routing.getAgent('ann'))!.version,
      },
    ]);
    const agentEvent = {
      id: 'evt_agent',
      type: 'agent.updated',
      schemaVersion: DOMAIN_EVENT_SCHEMA_VERSION,
      createdAt: h.clock.now().toISOString(),
      data: { agent: (await h.routing.getAgent('ann'))!.value, changes: ['capacity'] },
    };
    expect(await handler(sqs([JSON.stringify(agentEvent)]), localContext('assigner'))).toEqual({ batchItemFailures: [] });
    expect((await h.conversations.getThread(second.id))?.value.assignee).toBe('ann');
  });
});
