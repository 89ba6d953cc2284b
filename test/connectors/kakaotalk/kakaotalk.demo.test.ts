import { describe, expect, it } from 'vitest';
import type { WebhookRequest } from '../../../connectors/connector.ts';
import { kakaotalkConnector } from '../../../connectors/kakaotalk/index.ts';
import { kakaotalkDemo } from '../../../connectors/kakaotalk/kakaotalk.demo.ts';
import type { DemoRequest } from '../../../connectors/demo.ts';
import type { Message } from '../../../domain/model.ts';

const CONTEXT = { accountId: 'default', receivedAt: '2026-03-14T01:00:00.000Z' };

const asWebhook = (demo: DemoRequest): WebhookRequest => ({
  method: 'POST',
  headers: Object.fromEntries(Object.entries(demo.headers).map(([k, v]) => [k.toLowerCase(), v])),
  query: {},
  rawBody: Buffer.from(demo.body, 'utf8'),
});

const normalized = (demo: DemoRequest) => {
  const parsed = kakaotalkConnector.parse(Buffer.from(demo.body, 'utf8'));
  if (parsed.kind !== 'ok') throw new Error(parsed.reason);
  return kakaotalkConnector.normalize(parsed.payload, CONTEXT);
};

describe('kakaotalk demo', () => {
  const dev = kakaotalkConnector.devCredentials();

  it('opens with skill calls that verify under the development credentials and give the customer messages', () => {
    const requests = kakaotalkDemo.opening(dev, 1);
    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(kakaotalkConnector.verify(asWebhook(request), dev)).toBe(true);
      const [message] = normalized(request).events;
      expect(message?.type === 'message.received' && message.sender.externalUserId).toBe(kakaotalkDemo.customer.externalUserId);
    }
  });

  it("taps the reply's first quick reply, and the tap comes back with its payload", () => {
    const reply: Message = {
      id: 'msg_1',
      threadId: 'thr_1',
      direction: 'outbound',
      channel: 'kakaotalk',
      accountId: 'default',
      occurredAt: CONTEXT.receivedAt,
      author: { role: 'agent' },
      content: { type: 'text', text: 'Express?', quickReplies: [{ text: 'Express 🚀', payload: 'ship:exp:A-1029' }] },
      status: 'sent',
    };
    const [tap] = kakaotalkDemo.afterReply(dev, 1, reply);
    if (!tap) throw new Error('expected a tap');
    expect(kakaotalkConnector.verify(asWebhook(tap), dev)).toBe(true);
    const [message] = normalized(tap).events;
    expect(message?.type === 'message.received' && message.content).toEqual({
      type: 'reply',
      text: 'Express 🚀',
      payload: 'ship:exp:A-1029',
    });
    expect(kakaotalkDemo.afterReply(dev, 1, { ...reply, content: { type: 'text', text: 'no buttons' } })).toEqual([]);
  });
});
