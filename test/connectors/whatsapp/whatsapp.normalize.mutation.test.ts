/**
 * connectors/whatsapp/whatsapp.normalize.ts at its edges: the content each message type becomes when a
 * field is missing, empty or out of range, the error text a failed status carries to the integrator, and
 * the reasons listed for what is not turned into events.
 */
import { describe, expect, it } from 'vitest';
import type { NormalizeContext } from '../../../connectors/connector.ts';
import { whatsappConnector } from '../../../connectors/whatsapp/index.ts';
import type { ParleyEvent } from '../../../domain/events.ts';
import { PHONE_NUMBER_ID } from './whatsapp.kit.ts';

const CUSTOMER = '16505551234';
const RECEIVED_AT = '2026-03-14T01:00:00.000Z';
// The route's account is the payload's number too, so these tests hold whichever of the two names it.
const CONTEXT: NormalizeContext = { accountId: PHONE_NUMBER_ID, receivedAt: RECEIVED_AT };

const run = (value: Record<string, unknown>, field = 'messages') => {
  const body = {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field,
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
              ...value,
            },
          },
        ],
      },
    ],
  };
  const parsed = whatsappConnector.parse(Buffer.from(JSON.stringify(body), 'utf8'));
  if (parsed.kind !== 'ok') throw new Error(`${parsed.kind}: ${parsed.reason}`);
  return whatsappConnector.normalize(parsed.payload, CONTEXT);
};
const message = (type: string, fields: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  from: CUSTOMER,
  id: 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdGRjZBMjVGMkQ4RTQ0QkQ4RQA=',
  timestamp: '1773448200',
  type,
  ...fields,
  ...extra,
});
const contentOf = (type: string, fields: Record<string, unknown>) => {
  const { events } = run({ messages: [message(type, fields)] });
  return events.map((e) => ('content' in e ? e.content : undefined));
};

describe('whatsapp normalize: content at its edges', () => {
  it('keeps a location on the poles and the date line, and calls one past them unsupported', () => {
    expect(contentOf('location', { location: { latitude: 90, longitude: -180 } })).toStrictEqual([
      { type: 'location', latitude: 90, longitude: -180 },
    ]);
    expect(contentOf('location', { location: { latitude: 90.5, longitude: 0 } })).toStrictEqual([
      { type: 'unsupported', providerType: 'location' },
    ]);
    expect(contentOf('location', { location: { latitude: 0, longitude: 180.5 } })).toStrictEqual([
      { type: 'unsupported', providerType: 'location' },
    ]);
    expect(contentOf('location', {})).toStrictEqual([{ type: 'unsupported', providerType: 'location' }]);
  });

  it('leaves out an empty location name and address', () => {
    expect(contentOf('location', { location: { latitude: 1, longitude: 2, name: '', address: '' } })).toStrictEqual([
      { type: 'location', latitude: 1, longitude: 2 },
    ]);
    expect(contentOf('location', { location: { latitude: 1, longitude: 2, name: 'ACME', address: 'Main St 1' } })).toStrictEqual([
      { type: 'location', latitude: 1, longitude: 2, name: 'ACME', address: 'Main St 1' },
    ]);
  });

  it('keeps a media URL only when it is https', () => {
    expect(
      contentOf('image', { image: { id: '1166846181421424', url: 'http://lookaside.fbsbx.com/x', mime_type: 'image/jpeg' } }),
    ).toStrictEqual([{ type: 'image', media: { id: '1166846181421424', mimeType: 'image/jpeg' } }]);
    expect(contentOf('image', { image: { id: '1166846181421424', url: 'https://lookaside.fbsbx.com/x' } })).toStrictEqual([
      { type: 'image', media: { id: '1166846181421424', url: 'https://lookaside.fbsbx.com/x' } },
    ]);
  });

  it('names a shared contact by its first and last name, else by its first phone number, and skips phones without a number', () => {
    const contacts = [
      { name: { first_name: 'Ann', last_name: 'Lee' }, phones: [{ type: 'CELL' }, { phone: '+1 650 555 0100', wa_id: '16505550100' }] },
      { phones: [{ phone: '+1 650 555 0101' }] },
    ];
    expect(contentOf('contacts', { contacts })).toStrictEqual([
      { type: 'contact', name: 'Ann Lee', phoneNumbers: ['+1 650 555 0100'], externalUserId: '16505550100' },
      { type: 'contact', name: '+1 650 555 0101', phoneNumbers: ['+1 650 555 0101'] },
    ]);
    expect(contentOf('contacts', { contacts: [{ name: { first_name: 'Ann' }, phones: [{ wa_id: '16505550100' }] }] })).toStrictEqual([
      { type: 'contact', name: 'Ann', phoneNumbers: ['16505550100'], externalUserId: '16505550100' },
    ]);
    expect(contentOf('contacts', { contacts: [{ phones: [] }] })).toStrictEqual([{ type: 'unsupported', providerType: 'contacts' }]);
  });

  it('reads a template button by its payload, else its text, and one with neither as unsupported', () => {
    expect(contentOf('button', { button: { text: 'Yes' } })).toStrictEqual([{ type: 'reply', text: 'Yes', payload: 'Yes' }]);
    expect(contentOf('button', { button: { payload: 'YES' } })).toStrictEqual([{ type: 'reply', text: 'YES', payload: 'YES' }]);
    expect(contentOf('button', { button: {} })).toStrictEqual([{ type: 'unsupported', providerType: 'button' }]);
    expect(contentOf('button', {})).toStrictEqual([{ type: 'unsupported', providerType: 'button' }]);
  });

  it('names an interactive reply it cannot read by its kind, and a reaction without body unsupported', () => {
    expect(contentOf('interactive', { interactive: { type: 'nfm_reply', nfm_reply: { response_json: '{}' } } })).toStrictEqual([
      { type: 'unsupported', providerType: 'interactive.nfm_reply' },
    ]);
    expect(contentOf('interactive', {})).toStrictEqual([{ type: 'unsupported', providerType: 'interactive.unknown' }]);
    expect(contentOf('reaction', {})).toStrictEqual([{ type: 'unsupported', providerType: 'reaction' }]);
  });

  it('takes the time of receipt for a timestamp that is not whole seconds', () => {
    for (const timestamp of ['1773448200.5', 'x1773448200', '1773448200x', '']) {
      const { events } = run({ messages: [message('text', { text: { body: 'Hi' } }, { timestamp })] });
      expect(
        events.map((e) => e.occurredAt),
        timestamp,
      ).toEqual([RECEIVED_AT]);
    }
  });
});

describe('whatsapp normalize: what the integrator reads of failures', () => {
  const status = (errors: unknown[] | undefined) => ({
    statuses: [{ id: 'wamid.out1', status: 'failed', timestamp: '1773448200', recipient_id: CUSTOMER, ...(errors && { errors }) }],
  });
  const errorOf = (errors: unknown[] | undefined) => {
    const [event] = run(status(errors)).events as (ParleyEvent & { error?: unknown })[];
    return event?.error;
  };

  it('writes the title and the details of a failure, each once', () => {
    expect(errorOf([{ code: 131047, title: 'Re-engagement message', error_data: { details: 'More than 24 hours have passed' } }])).toEqual({
      code: '131047',
      message: 'Re-engagement message: More than 24 hours have passed',
    });
    expect(errorOf([{ code: 131026, title: 'Message undeliverable', error_data: { details: 'Message undeliverable' } }])).toEqual({
      code: '131026',
      message: 'Message undeliverable',
    });
    expect(errorOf([{ code: 131000, message: 'Something went wrong' }])).toEqual({ code: '131000', message: 'Something went wrong' });
    expect(errorOf([{ code: 131000, title: 'Generic', message: 'Something went wrong' }])).toEqual({ code: '131000', message: 'Generic' });
    expect(errorOf([{}])).toEqual({ code: 'unknown', message: 'error' });
    expect(errorOf(undefined)).toEqual({ code: 'unknown', message: 'failed without an error from WhatsApp' });
  });

  it('lists errors, system notices, revokes and unreadable parts among the ignored, saying what they were', () => {
    const { events, ignored } = run({
      messages: [
        message('system', { system: { body: 'Ann changed her number', type: 'user_changed_number' } }, { id: 'wamid.sys' }),
        message('system', {}, { id: 'wamid.sys2' }),
        message('unsupported', { errors: [{ code: 131051, title: 'Message type unknown' }] }, { id: 'wamid.unk' }),
        message('revoke', { revoke: { original_message_id: 'wamid.old' } }, { id: 'wamid.rev' }),
        message('edit', { edit: { original_message_id: 'wamid.old', message: 'garbled' } }, { id: 'wamid.edit' }),
        { id: 'wamid.nofrom', timestamp: '1773448200', type: 'text', text: { body: 'Hi' } },
        'not a message',
      ],
      statuses: ['not a status', { id: 'wamid.out2', status: 'deleted', timestamp: '1773448200' }],
      message_echoes: [{ id: 'wamid.echo', type: 'text', text: { body: 'Hi' } }],
      errors: [{ code: 130429, title: 'Rate limit hit' }, 'junk'],
    });
    expect(events.map((e) => e.type)).toEqual(['message.received']);
    expect(ignored).toEqual([
      'message wamid.sys: system notice user_changed_number',
      'message wamid.sys2: system notice',
      'message wamid.unk: unsupported with error 131051 Message type unknown',
      'message wamid.rev: revoke of wamid.old (no delete event)',
      'message wamid.edit: edit without readable content',
      'message wamid.nofrom: no sender',
      'entry[0].changes[0].messages[6]: message is not readable',
      'entry[0].changes[0].statuses[0]: status is not readable',
      'status wamid.out2: deleted is not tracked',
      'entry[0].changes[0].message_echoes[0]: echo is not readable',
      'entry[0].changes[0]: error 130429 Rate limit hit',
      'entry[0].changes[0]: error ? error',
    ]);
  });
});
