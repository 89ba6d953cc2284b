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

describe('what a consent refusal says', () => {
  it('names the purpose, the channel or every channel, the time and how the contact opted out', () => {
    expect(consentVerdict([], 'whatsapp', 'marketing')).toEqual({
      kind: 'refused',
      code: 'no_consent',
      reason: 'The contact has not opted in to marketing messages on whatsapp; record their opt-in with POST /v1/consents first',
    });
    const everywhere = entry({ status: 'opted_out', source: 'api', at: '2026-11-02T00:00:00.000Z' });
    expect(consentVerdict([everywhere], 'line', 'marketing')).toEqual({
      kind: 'refused',
      code: 'no_consent',
      reason: 'The contact opted out of marketing messages on every channel at 2026-11-02T00:00:00.000Z (source: api)',
      entry: everywhere,
    });
    const written = entry({ channel: 'line', purpose: 'transactional', status: 'opted_out', source: 'keyword', detail: '配信停止' });
    expect(consentVerdict([written], 'line', 'transactional')).toMatchObject({
      reason: 'The contact opted out of transactional messages on line at 2026-11-01T00:00:00.000Z by writing "配信停止"',
    });
    // A keyword opt-out recorded without what was written says STOP.
    const { detail: _detail, ...undetailed } = written;
    expect(consentVerdict([undetailed], 'line', 'transactional')).toMatchObject({ reason: expect.stringContaining('by writing "STOP"') });
  });

  it('decides by the purpose asked about: an opt-in to transactional messages is no opt-in to marketing', () => {
    expect(consentVerdict([entry({ purpose: 'transactional' })], 'telegram', 'marketing').kind).toBe('refused');
    expect(consentVerdict([entry({ purpose: 'marketing', status: 'opted_out' })], 'telegram', 'transactional').kind).toBe('allowed');
  });
});

describe('which change is the later', () => {
  const at = (value: string, over: Partial<ConsentEntry> = {}) => entry({ at: value, recordedAt: value, ...over });

  it('goes by the second, then an opt-out, then the one recorded later, then the milliseconds', () => {
    expect(laterFirst(at('2026-11-01T10:00:06.000Z'), at('2026-11-01T10:00:05.999Z'))).toBeLessThan(0);
    expect(laterFirst(at('2026-11-01T10:00:05.999Z'), at('2026-11-01T10:00:06.000Z'))).toBeGreaterThan(0);
    const optIn = at('2026-11-01T10:00:05.900Z');
    const optOut = at('2026-11-01T10:00:05.100Z', { status: 'opted_out' });
    expect(laterFirst(optOut, optIn)).toBe(-1);
    expect(laterFirst(optIn, optOut)).toBe(1);
    const first = entry({ at: '2026-11-01T10:00:05.100Z', recordedAt: '2026-11-01T10:00:07.000Z' });
    const second = entry({ at: '2026-11-01T10:00:05.100Z', recordedAt: '2026-11-01T10:00:09.000Z' });
    expect([first, second].sort(laterFirst)[0]).toBe(second);
    expect([second, first].sort(laterFirst)[0]).toBe(second);
    const early = entry({ at: '2026-11-01T10:00:05.100Z' });
    const late = entry({ at: '2026-11-01T10:00:05.800Z' });
    expect([early, late].sort(laterFirst)[0]).toBe(late);
    expect(laterFirst(late, early)).toBeLessThan(0);
    expect(laterFirst(early, early)).toBe(0);
  });
});

describe('ledger entry ids', () => {
  it('sort by the second, an opt-out after an opt-in of that second, then the milliseconds; the same change gives the same id', () => {
    const id = consentEntryId('2026-11-01T10:00:05.042Z', 'opted_out', 'telegram', 'msg-1');
    expect(id).toMatch(/^cns_[0-9a-z]{7}1042_[A-Za-z0-9_-]{16}$/);
    expect(id.slice(4, 11)).toBe(
      Math.floor(Date.parse('2026-11-01T10:00:05.042Z') / 1000)
        .toString(36)
        .padStart(7, '0'),
    );
    expect(consentEntryId('2026-11-01T10:00:05.042Z', 'opted_in', 'telegram', 'msg-1').slice(11, 15)).toBe('0042');
    expect(consentEntryId('2026-11-01T10:00:05.042Z', 'opted_out', 'telegram', 'msg-1')).toBe(id);
    // The parts are kept apart: `a` + `bc` is not `ab` + `c`.
    expect(consentEntryId('2026-11-01T10:00:05.042Z', 'opted_out', 'a', 'bc')).not.toBe(
      consentEntryId('2026-11-01T10:00:05.042Z', 'opted_out', 'ab', 'c'),
    );
    // A time before 1970 sorts first rather than breaking the id.
    expect(consentEntryId('1969-12-31T23:59:59.000Z', 'opted_in', 'x').slice(4, 15)).toBe('00000000000');
  });
});

describe('every opt-out keyword', () => {
  // The words a customer can write to stop marketing, as documented in domain/delivery/consent.ts: each alone opts out.
  it.each([
    'stop',
    'stopall',
    'stop all',
    'unsubscribe',
    'opt out',
    'optout',
    'opt-out',
    'stop promotions',
    'stop messages',
    '停止',
    '配信停止',
    '配信解除',
    '登録解除',
    '購読解除',
    'ストップ',
    'メッセージ停止',
    '退訂',
    '退订',
    '取消訂閱',
    '取消订阅',
    '중지',
    '수신거부',
    '수신 거부',
    '수신중지',
    '수신 중지',
    '구독취소',
    '구독 취소',
    '광고거부',
    '무료수신거부',
    'หยุด',
    'หยุดส่ง',
    'เลิกรับ',
    'ยกเลิกรับข่าวสาร',
    'ยกเลิกการรับข่าวสาร',
    'berhenti',
    'berhenti langganan',
    'unreg',
    'baja',
    'darme de baja',
    'parar',
    'alto',
    'detener',
    'no más',
    'no mas',
    'pare',
    'sair',
    'descadastrar',
    'cancelar inscrição',
    'cancelar inscricao',
  ])('%j', (word) => {
    expect(optOutKeyword(text(word))).toBe(word);
  });

  it('reads inner spaces as one, and takes nothing empty, over 60 characters, or from a message that is not text or a reply', () => {
    expect(optOutKeyword(text('stop   all'))).toBe('stop   all');
    expect(optOutKeyword(text(''))).toBeUndefined();
    expect(optOutKeyword(text('!!!'))).toBeUndefined();
    expect(optOutKeyword(text(`${' '.repeat(57)}stop`))).toBeUndefined();
    expect(optOutKeyword(text(`${' '.repeat(56)}stop`))).toBe('stop');
    // A payload's underscores read as spaces, and the word is answered as read.
    expect(optOutKeyword({ type: 'reply', text: 'x'.repeat(61), payload: 'opt_out' })).toBe('opt out');
    expect(optOutKeyword({ type: 'location', latitude: 35.6, longitude: 139.7, name: 'stop' })).toBeUndefined();
  });
});
