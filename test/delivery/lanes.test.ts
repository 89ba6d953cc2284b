/**
 * The lanes on the local runtime: background queues (campaign messages, their dispatch and progress) take a batch
 * only while no foreground queue (replies, inbound) has work waiting, so on one machine a campaign never holds a
 * reply back; and the topology marks exactly the proactive work as background.
 */
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LocalQueue } from '../../adapters/local/local-queue.ts';
import { ENABLED_CHANNELS, QUEUES, type QueueName } from '../../topology/topology.ts';

const spec = { visibilityTimeoutSeconds: 30, maxReceiveCount: 5, batchSize: 1 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('background queues on the local runtime', () => {
  it('wait while a foreground queue has work, then take theirs', async () => {
    const order: string[] = [];
    const foreground = new LocalQueue<string>({ name: 'outbound-telegram', spec });
    const background = new LocalQueue<string>({ name: 'proactive-telegram', spec, yieldWhile: () => foreground.busy });
    const handler = (lane: string) => async (event: SQSEvent) => {
      for (const record of event.Records) order.push(`${lane}:${JSON.parse(record.body) as string}`);
      await sleep(15);
    };
    for (let i = 0; i < 3; i++) await background.send(`c${i}`);
    for (let i = 0; i < 3; i++) await foreground.send(`r${i}`);
    foreground.consume(handler('reply'));
    background.consume(handler('campaign'));
    await sleep(30);
    // A reply queued while the campaign's work waits still goes first.
    await foreground.send('r3');
    await Promise.all([foreground.idle(), background.idle()]);
    await sleep(100);
    await background.idle();
    expect(order.filter((o) => o.startsWith('reply'))).toEqual(['reply:r0', 'reply:r1', 'reply:r2', 'reply:r3']);
    expect(order.indexOf('campaign:c0')).toBeGreaterThan(order.indexOf('reply:r3'));
    expect(order.filter((o) => o.startsWith('campaign'))).toHaveLength(3);
    foreground.stop();
    background.stop();
  });

  it('marks as background exactly the proactive lane, campaign dispatch and campaign progress', () => {
    const background = (Object.keys(QUEUES) as QueueName[]).filter((name) => QUEUES[name].background).sort();
    expect(background).toEqual(['campaign-statuses', 'campaigns', ...ENABLED_CHANNELS.map((c) => `proactive-${c}`)].sort());
  });
});
