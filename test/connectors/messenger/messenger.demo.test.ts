import { describe, expect, it } from 'vitest';
import type { Connector } from '../../../connectors/connector.ts';
import type { ChannelDemo, DemoRequest } from '../../../connectors/demo.ts';
import { instagramConnector } from '../../../connectors/instagram/index.ts';
import { instagramDemo } from '../../../connectors/instagram/instagram.demo.ts';
import { messengerConnector } from '../../../connectors/messenger/index.ts';
import { messengerDemo } from '../../../connectors/messenger/messenger.demo.ts';
import type { Message } from '../../../domain/model.ts';
import { ParleyEventSchema, type ParleyEvent } from '../../../domain/events.ts';

const eventsOf = (connector: Connector, credentials: Record<string, string>, request: DemoRequest): ParleyEvent[] => {
  const rawBody = Buffer.from(request.body, 'utf8');
  expect(connector.verify({ method: 'POST', headers: request.headers, query: {}, rawBody }, credentials)).toBe(true);
  const parsed = connector.parse(rawBody);
  if (parsed.kind !== 'ok') throw new Error(parsed.reason);
  const { events } = connector.normalize(parsed.payload, { accountId: 'default', receivedAt: '2026-03-14T01:00:00.000Z' });
  for (const event of events) ParleyEventSchema.parse(event);
  return events;
};

const reply: Message = {
  id: 'msg_demo',
  threadId: 'thr_demo',
  direction: 'outbound',
  channel: 'messenger',
  accountId: 'acct',
  externalId: 'm_sandbox_000001',
  occurredAt: '2026-03-14T01:00:00.000Z',
  author: { role: 'agent' },
  content: { type: 'text', text: 'Which shipping?', quickReplies: [{ text: 'Express', payload: 'ship:exp' }] },
  status: 'sent',
};

describe.each([
  ['messenger', messengerConnector, messengerDemo],
  ['instagram', instagramConnector, instagramDemo],
] as const)('%s demo', (_, connector: Connector, demo: ChannelDemo) => {
  it('plays signed webhooks that become the customer messages, statuses and the tapped reply', () => {
    const credentials = connector.devCredentials();
    const account = connector.accountIdOf(credentials);
    const opening = demo.opening(credentials, 1).flatMap((request) => eventsOf(connector, credentials, request));
    const after = demo.afterReply(credentials, 1, reply).flatMap((request) => eventsOf(connector, credentials, request));

    expect(opening.length).toBeGreaterThan(0);
    expect(
      opening.every(
        (e) => e.accountId === account && e.type === 'message.received' && e.sender.externalUserId === demo.customer.externalUserId,
      ),
    ).toBe(true);
    expect(after).toContainEqual(
      expect.objectContaining({ type: 'message.status', externalMessageId: 'm_sandbox_000001', status: expect.any(String) }),
    );
    expect(after).toContainEqual(expect.objectContaining({ content: { type: 'reply', text: 'Express', payload: 'ship:exp' } }));
    // Another run gives other message ids, so a replayed demo adds messages.
    const again = demo.opening(credentials, 2).flatMap((request) => eventsOf(connector, credentials, request));
    expect(again.map((e) => e.eventId)).not.toEqual(opening.map((e) => e.eventId));
  });
});
