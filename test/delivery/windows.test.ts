/**
 * Messaging windows, as each channel's connector declares them: what may be queued after the customer's last
 * message, and what the refusal offers instead.
 */
import { describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import type { Channel } from '../../domain/content.ts';
import type { ChannelRoute } from '../../domain/conversations/model.ts';
import { windowVerdict, type WindowQuestion } from '../../domain/delivery/windows.ts';

const NOW = new Date('2026-11-26T12:00:00.000Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();

const routeFor = (channel: Channel, lastInboundHoursAgo: number, windowHours?: number): ChannelRoute => ({
  channel,
  accountId: 'acct',
  conversation: { externalId: 'u1', kind: 'direct' },
  lastInboundAt: hoursAgo(lastInboundHoursAgo),
  ...(windowHours !== undefined && { windowExpiresAt: hoursAgo(lastInboundHoursAgo - windowHours) }),
});

const ask = (channel: Channel, question: Partial<WindowQuestion>) =>
  windowVerdict({ channel, capabilities: capabilitiesOf(channel)!, contentType: 'text', now: NOW, ...question });

describe('messaging windows', () => {
  it("lets anything go on WhatsApp within 24 hours of the customer's last message", () => {
    expect(ask('whatsapp', { route: routeFor('whatsapp', 23.9, 24) })).toEqual({ kind: 'allowed', via: 'window' });
  });

  it('refuses free text on WhatsApp after 24 hours, offering a template, and lets an approved template through', () => {
    const verdict = ask('whatsapp', { route: routeFor('whatsapp', 25, 24) });
    expect(verdict).toMatchObject({ kind: 'refused', code: 'outside_messaging_window', windowExpiresAt: hoursAgo(1) });
    if (verdict.kind !== 'refused') throw new Error('expected a refusal');
    expect(verdict.allowedInstead).toEqual(['an approved template (content type `template`)']);
    expect(verdict.reason).toContain('24-hour window');
    expect(ask('whatsapp', { route: routeFor('whatsapp', 25, 24), contentType: 'template' })).toEqual({ kind: 'allowed', via: 'template' });
  });

  it("takes a route without a recorded window end from the customer's last message", () => {
    expect(ask('whatsapp', { route: routeFor('whatsapp', 23) }).kind).toBe('allowed');
    expect(ask('whatsapp', { route: routeFor('whatsapp', 25) }).kind).toBe('refused');
  });

  it('treats a WhatsApp number that never wrote as outside the window', () => {
    const verdict = ask('whatsapp', {});
    expect(verdict).toMatchObject({ kind: 'refused', code: 'outside_messaging_window' });
    expect(ask('whatsapp', { contentType: 'template' }).kind).toBe('allowed');
  });

  it("allows Messenger's HUMAN_AGENT tag for 7 days, for an entitled account only, and never for marketing", () => {
    const route = routeFor('messenger', 48, 24);
    expect(ask('messenger', { route, messageTag: 'human_agent', settings: { humanAgent: 'true' } })).toEqual({
      kind: 'allowed',
      via: 'tag',
    });
    expect(ask('messenger', { route, messageTag: 'human_agent', settings: { humanAgent: 'false' } })).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining('not entitled'),
    });
    // An account that does not say, or whose settings cannot be read, is left to the provider.
    expect(ask('messenger', { route, messageTag: 'human_agent', settings: {} }).kind).toBe('allowed');
    expect(ask('messenger', { route, messageTag: 'human_agent' }).kind).toBe('allowed');
    expect(
      ask('messenger', { route: routeFor('messenger', 8 * 24, 24), messageTag: 'human_agent', settings: { humanAgent: 'true' } }),
    ).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining('within 7 days'),
    });
    expect(ask('messenger', { route, messageTag: 'human_agent', purpose: 'marketing', settings: { humanAgent: 'true' } })).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining('promotional'),
    });
    // A non-promotional tag has no time limit.
    expect(ask('messenger', { route: routeFor('messenger', 30 * 24, 24), messageTag: 'post_purchase_update' }).kind).toBe('allowed');
  });

  it("offers Instagram's human agent tag while it may still be used, and not after", () => {
    const verdict = ask('instagram', { route: routeFor('instagram', 30, 24) });
    if (verdict.kind !== 'refused') throw new Error('expected a refusal');
    expect(verdict.allowedInstead).toEqual(["`messageTag: human_agent` (within 7 days of the customer's last message)"]);
    const late = ask('instagram', { route: routeFor('instagram', 9 * 24, 24) });
    if (late.kind !== 'refused') throw new Error('expected a refusal');
    expect(late.allowedInstead).toEqual([]);
  });

  it('has no window on Telegram, and counts LINE pushes against the quota unless a reply token is still valid', () => {
    expect(ask('telegram', { route: routeFor('telegram', 24 * 365) })).toEqual({ kind: 'allowed', via: 'no_window' });
    expect(ask('line', { route: routeFor('line', 48) })).toEqual({ kind: 'allowed', via: 'quota' });
    const fresh = { ...routeFor('line', 0), replyHandle: { value: 'token', expiresAt: new Date(NOW.getTime() + 30_000).toISOString() } };
    expect(ask('line', { route: fresh })).toEqual({ kind: 'allowed', via: 'reply_handle' });
  });

  it('reaches a KakaoTalk user who is not waiting only through the Event API of an account that has its key', () => {
    const route = routeFor('kakaotalk', 1);
    expect(ask('kakaotalk', { route, settings: { skillSecret: 's' } })).toMatchObject({
      kind: 'refused',
      code: 'outside_messaging_window',
      allowedInstead: ["configure the account's `restApiKey`", 'answer while the customer waits (within a minute of their message)'],
    });
    expect(ask('kakaotalk', { route, settings: { skillSecret: 's', restApiKey: 'k' } })).toEqual({ kind: 'allowed', via: 'credential' });
    const waiting = {
      ...route,
      replyHandle: { value: 'https://bot-api.kakao.com/callback', expiresAt: new Date(NOW.getTime() + 10_000).toISOString() },
    };
    expect(ask('kakaotalk', { route: waiting, settings: { skillSecret: 's' } })).toEqual({ kind: 'allowed', via: 'reply_handle' });
  });
});

describe('what a refusal says', () => {
  // The API answers these reasons and alternatives to the integrator as they are: each is checked whole.
  const closedAt = (channel: Channel, h: number) =>
    `${channel}'s 24-hour window after the customer's last message closed at ${hoursAgo(h)}`;
  const messengerTags = [
    "`messageTag: human_agent` (within 7 days of the customer's last message)",
    '`messageTag: account_update`',
    '`messageTag: confirmed_event_update`',
    '`messageTag: post_purchase_update`',
  ];

  it('names when the window closed and offers every tag still usable, none for marketing', () => {
    const route = routeFor('messenger', 48, 24);
    expect(ask('messenger', { route })).toEqual({
      kind: 'refused',
      code: 'outside_messaging_window',
      reason: closedAt('messenger', 24),
      allowedInstead: messengerTags,
      windowExpiresAt: hoursAgo(24),
    });
    expect(ask('messenger', { route, purpose: 'marketing' })).toMatchObject({ allowedInstead: [] });
    expect(ask('messenger', { route, contentType: 'template' })).toEqual({
      kind: 'refused',
      code: 'outside_messaging_window',
      reason: `${closedAt('messenger', 24)}, and messenger has no templates`,
      allowedInstead: messengerTags,
      windowExpiresAt: hoursAgo(24),
    });
  });

  it('says why a tag is refused: not the channel’s, too late, promotional, or an account not entitled', () => {
    const route = routeFor('messenger', 48, 24);
    const reason = (channel: Channel, question: Partial<WindowQuestion>) => {
      const verdict = ask(channel, question);
      return verdict.kind === 'refused' ? verdict.reason : verdict.via;
    };
    expect(reason('instagram', { route: routeFor('instagram', 48, 24), messageTag: 'post_purchase_update' })).toBe(
      `${closedAt('instagram', 24)}; instagram does not accept the message tag post_purchase_update outside it`,
    );
    expect(reason('messenger', { route: routeFor('messenger', 8 * 24, 24), messageTag: 'human_agent' })).toBe(
      `${closedAt('messenger', 7 * 24)}; the human_agent tag may be used only within 7 days of the customer's last message`,
    );
    expect(reason('messenger', { route, messageTag: 'account_update', purpose: 'marketing' })).toBe(
      `${closedAt('messenger', 24)}; message tags may not carry promotional (marketing) messages`,
    );
    expect(reason('messenger', { route, messageTag: 'human_agent', settings: { humanAgent: 'false' } })).toBe(
      `${closedAt('messenger', 24)}; this messenger account is not entitled to the human_agent tag (its \`humanAgent\` setting is \`false\`; set it to \`true\` once Meta granted the permission)`,
    );
    // Anything else in the setting is left to the provider, as a missing one is.
    expect(reason('messenger', { route, messageTag: 'human_agent', settings: { humanAgent: 'no' } })).toBe('tag');
  });

  it('counts a tag’s hours to the millisecond, from the customer’s last message, and refuses it to a customer who never wrote', () => {
    const lastWrote = (h: number): ChannelRoute => ({ ...routeFor('messenger', h), windowExpiresAt: hoursAgo(h - 24) });
    expect(ask('messenger', { route: lastWrote(7 * 24 - 0.001), messageTag: 'human_agent' })).toEqual({ kind: 'allowed', via: 'tag' });
    expect(ask('messenger', { route: lastWrote(7 * 24), messageTag: 'human_agent' }).kind).toBe('refused');
    expect(ask('messenger', { route: lastWrote(7 * 24), messageTag: 'human_agent' })).toMatchObject({
      allowedInstead: messengerTags.slice(1),
    });
    const never = ask('messenger', { messageTag: 'human_agent' });
    expect(never).toEqual({
      kind: 'refused',
      code: 'outside_messaging_window',
      reason:
        "the customer has never written on messenger; the human_agent tag may be used only within 7 days of the customer's last message",
      allowedInstead: messengerTags.slice(1),
    });
    // A tag limited to hours that are not whole days says so in hours.
    const capabilities = {
      messagingWindowHours: 24,
      afterWindow: { templates: false, tags: [{ tag: 'human_agent' as const, withinHours: 36 }] },
    };
    expect(
      windowVerdict({ channel: 'messenger', capabilities, route: lastWrote(40), contentType: 'text', messageTag: 'human_agent', now: NOW }),
    ).toMatchObject({
      reason: `${closedAt('messenger', 16)}; the human_agent tag may be used only within 36 hours of the customer's last message`,
    });
    expect(windowVerdict({ channel: 'messenger', capabilities, route: lastWrote(30), contentType: 'text', now: NOW })).toMatchObject({
      allowedInstead: ["`messageTag: human_agent` (within 36 hours of the customer's last message)"],
    });
  });

  it('closes the window at its end, and a reply handle at its expiry, to the millisecond', () => {
    expect(ask('whatsapp', { route: routeFor('whatsapp', 24, 24) })).toMatchObject({ kind: 'refused', windowExpiresAt: NOW.toISOString() });
    expect(ask('whatsapp', { route: routeFor('whatsapp', 24) })).toMatchObject({ kind: 'refused', windowExpiresAt: NOW.toISOString() });
    expect(ask('whatsapp', {})).toEqual({
      kind: 'refused',
      code: 'outside_messaging_window',
      reason: 'the customer has never written on whatsapp',
      allowedInstead: ['an approved template (content type `template`)'],
    });
    const expiring = { ...routeFor('line', 0), replyHandle: { value: 'token', expiresAt: NOW.toISOString() } };
    expect(ask('line', { route: expiring })).toEqual({ kind: 'allowed', via: 'quota' });
    const kakaoExpiring = {
      ...routeFor('kakaotalk', 0),
      replyHandle: { value: 'https://bot-api.kakao.com/callback', expiresAt: NOW.toISOString() },
    };
    expect(ask('kakaotalk', { route: kakaoExpiring, settings: {} }).kind).toBe('refused');
  });

  it('says how a KakaoTalk account reaches a customer who is not waiting, and leaves an account whose settings cannot be read to Kakao', () => {
    expect(ask('kakaotalk', { route: routeFor('kakaotalk', 1), settings: { restApiKey: '' } })).toEqual({
      kind: 'refused',
      code: 'outside_messaging_window',
      reason:
        'kakaotalk reaches a customer who is not waiting for an answer only through its API for writing first, and this account has no `restApiKey`',
      allowedInstead: ["configure the account's `restApiKey`", 'answer while the customer waits (within a minute of their message)'],
    });
    expect(ask('kakaotalk', { route: routeFor('kakaotalk', 1) })).toEqual({ kind: 'allowed', via: 'credential' });
    // A channel that declares nothing of writing first writes freely.
    expect(windowVerdict({ channel: 'telegram', capabilities: {}, contentType: 'text', now: NOW })).toEqual({
      kind: 'allowed',
      via: 'no_window',
    });
  });
});
