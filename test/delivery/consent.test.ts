/**
 * The consent rules: what marketing and transactional messages need, and which customer messages are an opt-out.
 */
import { describe, expect, it } from 'vitest';
import type { Content } from '../../domain/content.ts';
import { consentEntryId, consentVerdict, laterFirst, optOutKeyword, type ConsentEntry } from '../../domain/delivery/consent.ts';

const entry = (over: Partial<ConsentEntry>): ConsentEntry => ({
  id: 'cns_1',
  contactId: 'ct_1',
  purpose: 'marketing',
  status: 'opted_in',
  source: 'api',
  by: { type: 'api_key', id: 'key_1' },
  at: '2026-11-01T00:00:00.000Z',
  recordedAt: '2026-11-01T00:00:00.000Z',
  ...over,
});
const text = (value: string): Content => ({ type: 'text', text: value });

describe('consent verdicts', () => {
  it('refuses marketing without an opt-in, and allows it with one on the channel or on every channel', () => {
    expect(consentVerdict([], 'whatsapp', 'marketing')).toMatchObject({ kind: 'refused', code: 'no_consent' });
    expect(consentVerdict([entry({ channel: 'whatsapp' })], 'whatsapp', 'marketing')).toEqual({ kind: 'allowed', basis: 'opted_in' });
    expect(consentVerdict([entry({})], 'line', 'marketing')).toEqual({ kind: 'allowed', basis: 'opted_in' });
    // An opt-in on another channel is not one here.
    expect(consentVerdict([entry({ channel: 'line' })], 'whatsapp', 'marketing').kind).toBe('refused');
  });

  it('lets the latest change win: an opt-out after an opt-in refuses, and a later opt-in allows again', () => {
    const optIn = entry({ channel: 'whatsapp', at: '2026-11-01T00:00:00.000Z' });
    const optOut = entry({
      id: 'cns_2',
      channel: 'whatsapp',
      status: 'opted_out',
      source: 'keyword',
      detail: 'STOP',
      at: '2026-11-02T00:00:00.000Z',
    });
    const refusal = consentVerdict([optIn, optOut], 'whatsapp', 'marketing');
    expect(refusal).toMatchObject({ kind: 'refused', code: 'no_consent', reason: expect.stringContaining('by writing "STOP"') });
    const again = entry({ id: 'cns_3', at: '2026-11-03T00:00:00.000Z' });
    expect(consentVerdict([optIn, optOut, again], 'whatsapp', 'marketing').kind).toBe('allowed');
    // An opt-out of every channel wins over an earlier opt-in on one.
    expect(
      consentVerdict([optIn, entry({ id: 'cns_4', status: 'opted_out', at: '2026-11-05T00:00:00.000Z' })], 'whatsapp', 'marketing').kind,
    ).toBe('refused');
  });

  it('lets a STOP stamped in whole seconds win over an opt-in given through the API in the same second, in the ledger too', () => {
    // The customer's STOP carries the provider's second; the opt-in a moment before it carries milliseconds.
    const optIn = entry({
      id: consentEntryId('2026-11-01T10:00:05.700Z', 'opted_in', 'key_1', 'k'),
      channel: 'telegram',
      at: '2026-11-01T10:00:05.700Z',
    });
    const stop = entry({
      id: consentEntryId('2026-11-01T10:00:05.000Z', 'opted_out', 'telegram', 'bot', 'msg-1'),
      channel: 'telegram',
      status: 'opted_out',
      source: 'keyword',
      at: '2026-11-01T10:00:05.000Z',
    });
    expect(consentVerdict([optIn, stop], 'telegram', 'marketing').kind).toBe('refused');
    expect([optIn, stop].sort(laterFirst)[0]).toBe(stop);
    // The ledger lists newest first by id: the STOP first.
    expect([optIn.id, stop.id].sort().reverse()[0]).toBe(stop.id);
    // A second later, an opt-in is the later change.
    const again = entry({ id: consentEntryId('2026-11-01T10:00:06.000Z', 'opted_in', 'key_1', 'k2'), at: '2026-11-01T10:00:06.000Z' });
    expect([again.id, stop.id].sort().reverse()[0]).toBe(again.id);
    expect(consentVerdict([optIn, stop, again], 'telegram', 'marketing').kind).toBe('allowed');
  });

  it('needs no opt-in for transactional messages, honours their explicit opt-out, and keeps them after a marketing STOP', () => {
    expect(consentVerdict([], 'telegram', 'transactional')).toEqual({ kind: 'allowed', basis: 'transactional' });
    const stop = entry({ channel: 'telegram', status: 'opted_out', source: 'keyword', detail: 'STOP' });
    expect(consentVerdict([stop], 'telegram', 'transactional').kind).toBe('allowed');
    const out = entry({ channel: 'telegram', purpose: 'transactional', status: 'opted_out' });
    expect(consentVerdict([out], 'telegram', 'transactional')).toMatchObject({ kind: 'refused', code: 'no_consent' });
  });
});

describe('opt-out keywords', () => {
  it.each([
    'STOP',
    'stop',
    ' Stop! ',
    'ＳＴＯＰ',
    '/stop',
    '/stop@shop_bot',
    'UNSUBSCRIBE',
    '配信停止',
    'ストップ',
    '수신거부',
    '수신 거부',
    'หยุด',
    'BERHENTI',
    'baja',
    'Parar',
    'SAIR',
    '退訂',
    'СТОП',
    'Отписаться',
  ])('takes %j alone for an opt-out', (word) => {
    expect(optOutKeyword(text(word))).toBe(word.trim());
  });

  it.each(['please stop sending me the wrong size', 'cancel', 'CANCEL my order', 'end', 'stopped?', 'Where is my order?', '/start'])(
    'does not take %j for one',
    (message) => {
      expect(optOutKeyword(text(message))).toBeUndefined();
    },
  );

  it("takes a template's Stop promotions quick-reply button, by its label or payload", () => {
    expect(optOutKeyword({ type: 'reply', text: 'Stop promotions', payload: 'STOP_PROMOTIONS' })).toBe('Stop promotions');
    expect(optOutKeyword({ type: 'reply', text: 'No thanks', payload: 'STOP' })).toBe('STOP');
    expect(optOutKeyword({ type: 'reply', text: 'Yes', payload: 'confirm_order_42' })).toBeUndefined();
    expect(optOutKeyword({ type: 'image', media: { url: 'https://example.com/stop.jpg' }, caption: 'STOP' })).toBeUndefined();
  });
});
