import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NormalizeContext } from '../../../connectors/connector.ts';
import { whatsappConnector } from '../../../connectors/whatsapp/index.ts';
import type { WhatsAppWebhook } from '../../../connectors/whatsapp/whatsapp.schema.ts';
import { ParleyEventSchema, type ParleyEvent } from '../../../domain/events.ts';
import { whatsappWebhookViolations } from '../../helpers/whatsapp-spec.ts';
import { PHONE_NUMBER_ID } from './whatsapp.kit.ts';

const FIXTURES = new URL('../../fixtures/whatsapp/', import.meta.url);
const CONTEXT: NormalizeContext = { accountId: PHONE_NUMBER_ID, receivedAt: '2026-03-14T01:00:00.000Z' };

const readJson = (file: string): unknown => JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8'));
const bodies = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
  .sort();

const webhook = (value: unknown): WhatsAppWebhook => {
  const parsed = whatsappConnector.parse(Buffer.from(JSON.stringify(value), 'utf8'));
  if (parsed.kind !== 'ok') throw new Error(`${parsed.kind}: ${parsed.reason}`);
  return parsed.payload;
};
const fixture = (name: string): WhatsAppWebhook => webhook(readJson(`${name}.json`));
const normalize = (payload: WhatsAppWebhook) => whatsappConnector.normalize(payload, CONTEXT);
const received = (event: ParleyEvent | undefined) => {
  if (event?.type !== 'message.received') throw new Error(`expected message.received, got ${event?.type}`);
  return event;
};

/**
 * Fixtures the published OpenAPI document does not describe, and why. Everything else must validate
 * against its `WebhookPayload` schema (see test/helpers/whatsapp-spec.ts for the two corrections applied).
 */
const NOT_IN_SPEC: Readonly<Record<string, string>> = {
  'echo-coexistence.json': 'the v23.0 document has no smb_message_echoes field (coexistence numbers only)',
  'edit-coexistence.json': 'the v23.0 document has no edit message type (coexistence numbers only)',
  'errors-out-of-band.json': 'the document describes no value carrying only errors',
  'template-status-update.json': 'the document describes only messages and group fields',
  'reaction-removed.json': 'the document requires emoji, which Meta omits when a reaction is removed',
  'reply-context.json': "the document's ContextObject requires referred_product (a product enquiry); a quoted reply has only from and id",
  'not-whatsapp.json': 'a Messenger body, there to be ignored',
};

describe('whatsapp webhook fixtures against the OpenAPI document', () => {
  it.each(bodies.filter((f) => !(f in NOT_IN_SPEC)))('%s matches WebhookPayload', (file) => {
    expect(whatsappWebhookViolations(readJson(file))).toBe('');
  });

  it.each(Object.entries(NOT_IN_SPEC))('%s is outside the document (%s) and the validator says so', (file) => {
    expect(whatsappWebhookViolations(readJson(file))).not.toBe('');
  });

  it('catches a wrong fixture: a message without its id', () => {
    const body = readJson('image-caption.json') as { entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[] };
    delete body.entry[0]!.changes[0]!.value.messages[0]!['id'];
    expect(whatsappWebhookViolations(body)).toContain("must have required property 'id'");
  });
});

describe('normalizeWhatsAppWebhook', () => {
  it('covers every message type, status and notice the connector promises to handle', () => {
    const scenarios = readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.expected.json'))
      .map((f) => f.slice(0, -'.expected.json'.length));
    expect(scenarios).toEqual(
      expect.arrayContaining([
        'text-escaped-unicode',
        'image-caption',
        'audio-voice',
        'video',
        'document',
        'sticker',
        'location',
        'contacts',
        'interactive-button-reply',
        'interactive-list-reply',
        'template-button',
        'reaction',
        'reaction-removed',
        'reply-context',
        'statuses-sent-delivered-read',
        'statuses-failed',
        'errors-out-of-band',
        'unsupported',
        'system-changed-number',
        'batch-two-numbers',
        'echo-coexistence',
        'template-status-update',
        'not-json',
        'not-whatsapp',
      ]),
    );
  });

  it('reads every entry, change, message and status, and routes each by its phone_number_id', () => {
    const { events } = normalize(fixture('batch-two-numbers'));

    expect(events.map((e) => [e.type, e.accountId])).toEqual([
      ['message.received', PHONE_NUMBER_ID],
      ['message.received', PHONE_NUMBER_ID],
      ['message.status', PHONE_NUMBER_ID],
      ['message.received', '109876543210987'],
    ]);
    // Each sender gets their own profile name, not the first contact's.
    expect(
      events.filter((e) => e.type === 'message.received').map((e) => [received(e).sender.displayName, received(e).conversation.externalId]),
    ).toEqual([
      ['Sheena Nelson', '16505551234'],
      ['Ana Souza', '5511955501234'],
      ['Sheena Nelson', '16505551234'],
    ]);
  });

  it('decodes escaped unicode and keeps emoji surrogate pairs whole', () => {
    const event = received(normalize(fixture('text-escaped-unicode')).events[0]);
    expect(event.sender.displayName).toBe('José Muñoz');
    expect(event.content).toEqual({
      type: 'text',
      text: 'Olá! ¿Dónde está mi pedido? 📦🙏 Escríbanme a jose@example.com o https://acme.example/o/A-1029',
    });
  });

  it("turns failed statuses into message.status with WhatsApp's code and title", () => {
    const [window, undeliverable] = normalize(fixture('statuses-failed')).events;
    expect(window).toMatchObject({ type: 'message.status', status: 'failed', error: { code: '131047' } });
    expect(window?.type === 'message.status' && window.error?.message).toMatch(/^Re-engagement message: .*24 hours/);
    expect(undeliverable).toMatchObject({
      status: 'failed',
      error: { code: '131026', message: 'Message undeliverable: Message Undeliverable.' },
    });
  });

  it('gives each (message, status) pair its own event id, stable across redeliveries', () => {
    const first = normalize(fixture('statuses-sent-delivered-read')).events.map((e) => e.eventId);
    const again = whatsappConnector.normalize(fixture('statuses-sent-delivered-read'), {
      ...CONTEXT,
      receivedAt: '2026-03-15T00:00:00.000Z',
    });
    expect(new Set(first).size).toBe(3);
    expect(again.events.map((e) => e.eventId)).toEqual(first);
  });

  it('keeps a failed status without errors failed, with an unknown code', () => {
    const body = readJson('statuses-failed.json') as { entry: { changes: { value: { statuses: Record<string, unknown>[] } }[] }[] };
    delete body.entry[0]!.changes[0]!.value.statuses[0]!['errors'];
    const [event] = normalize(webhook(body)).events;
    expect(event).toMatchObject({ status: 'failed', error: { code: 'unknown' } });
  });

  it('ignores statuses it does not track and unreadable elements, without losing their neighbours', () => {
    const body = readJson('statuses-sent-delivered-read.json') as { entry: { changes: { value: { statuses: unknown[] } }[] }[] };
    const statuses = body.entry[0]!.changes[0]!.value.statuses;
    statuses.unshift({ id: 'wamid.X', status: 'played', timestamp: '1773449000', recipient_id: '16505551234' }, { status: 'read' }, 42);
    const result = normalize(webhook(body));
    expect(result.events.map((e) => e.type === 'message.status' && e.status)).toEqual(['sent', 'delivered', 'read']);
    expect(result.ignored).toEqual([
      'status wamid.X: played is not tracked',
      'entry[0].changes[0].statuses[1]: status is not readable',
      'entry[0].changes[0].statuses[2]: status is not readable',
    ]);
  });

  it('falls back to the context account, and to the receipt time, when the payload lacks them', () => {
    const body = readJson('reply-context.json') as {
      entry: { changes: { value: Record<string, unknown> & { messages: Record<string, unknown>[] } }[] }[];
    };
    const value = body.entry[0]!.changes[0]!.value;
    delete value['metadata'];
    value.messages[0]!['timestamp'] = 'soon';
    const event = received(whatsappConnector.normalize(webhook(body), { ...CONTEXT, accountId: 'acct-from-route' }).events[0]);
    expect(event.accountId).toBe('acct-from-route');
    expect(event.occurredAt).toBe(CONTEXT.receivedAt);
  });

  it('uses the business-scoped user id when a message has no phone number', () => {
    const body = readJson('reply-context.json') as {
      entry: { changes: { value: Record<string, unknown> & { messages: Record<string, unknown>[] } }[] }[];
    };
    const value = body.entry[0]!.changes[0]!.value;
    value['contacts'] = [{ profile: { name: 'Sheena', username: '@sheena' }, user_id: 'US.13491208655302741918' }];
    delete value.messages[0]!['from'];
    value.messages[0]!['from_user_id'] = 'US.13491208655302741918';
    const event = received(normalize(webhook(body)).events[0]);
    expect(event.sender).toEqual({ externalUserId: 'US.13491208655302741918', displayName: 'Sheena', username: '@sheena' });
    expect(event.conversation).toEqual({ externalId: 'US.13491208655302741918', kind: 'direct' });
  });

  it('puts a message carrying a group_id in that group, its author as sender', () => {
    const body = readJson('reply-context.json') as { entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[] };
    body.entry[0]!.changes[0]!.value.messages[0]!['group_id'] = 'Y2FwaV9ncm91cDoxNjUwNTU1MTIzNDoxMjAzNjM0MDI0NzA2MTA3MjQ=';
    const event = received(normalize(webhook(body)).events[0]);
    expect(event.conversation).toEqual({ externalId: 'Y2FwaV9ncm91cDoxNjUwNTU1MTIzNDoxMjAzNjM0MDI0NzA2MTA3MjQ=', kind: 'group' });
    expect(event.sender.externalUserId).toBe('16505551234');
  });

  it('keeps the media url when a newer Graph version sends one, and never an unusable one', () => {
    const body = readJson('image-caption.json') as {
      entry: { changes: { value: { messages: { image: Record<string, unknown> }[] } }[] }[];
    };
    const image = body.entry[0]!.changes[0]!.value.messages[0]!.image;
    const url = 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256';
    image['url'] = url;
    const withUrl = received(normalize(webhook(body)).events[0]);
    image['url'] = 'http://insecure.example/x';
    const insecure = received(normalize(webhook(body)).events[0]);
    expect(withUrl.content.type === 'image' && withUrl.content.media).toEqual({ id: '1003383421387256', url, mimeType: 'image/jpeg' });
    expect(insecure.content.type === 'image' && insecure.content.media.url).toBeUndefined();
  });

  it('marks the types it cannot show as unsupported, with their WhatsApp name', () => {
    const body = readJson('reply-context.json') as { entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[] };
    const message = body.entry[0]!.changes[0]!.value.messages[0]!;
    delete message['text'];
    message['type'] = 'order';
    message['order'] = { catalog_id: '1', product_items: [] };
    expect(received(normalize(webhook(body)).events[0]).content).toEqual({ type: 'unsupported', providerType: 'order' });
    message['type'] = 'interactive';
    message['interactive'] = { type: 'nfm_reply', nfm_reply: { response_json: '{}' } };
    expect(received(normalize(webhook(body)).events[0]).content).toEqual({ type: 'unsupported', providerType: 'interactive.nfm_reply' });
  });

  it('emits only schema-valid events for every fixture', () => {
    for (const file of bodies) {
      const parsed = whatsappConnector.parse(readFileSync(new URL(file, FIXTURES)));
      if (parsed.kind !== 'ok') continue;
      for (const event of normalize(parsed.payload).events) expect(ParleyEventSchema.parse(event), file).toStrictEqual(event);
    }
  });
});

describe('whatsapp parse', () => {
  const parse = (body: string) => whatsappConnector.parse(Buffer.from(body, 'utf8'));

  it('answers malformed only for bodies that are not JSON, and ignores JSON that is not a WhatsApp notification', () => {
    expect(parse('{"object":')).toEqual({ kind: 'malformed', reason: 'body is not JSON' });
    for (const body of [
      '[]',
      'null',
      '{}',
      '{"object":"instagram","entry":[]}',
      '{"object":"whatsapp_business_account"}',
      '{"object":"whatsapp_business_account","entry":{}}',
    ]) {
      expect(parse(body), body).toMatchObject({ kind: 'ignored' });
    }
  });

  it('names the unreadable field', () => {
    expect(parse('{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{}}]}]}')).toEqual({
      kind: 'ignored',
      reason: 'WhatsApp notification is not readable: entry.0.changes.0.field: Invalid input: expected string, received undefined',
    });
  });
});
