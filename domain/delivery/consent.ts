/**
 * The consent ledger: every opt-in and opt-out of a contact, per channel (or every channel) and purpose, with
 * its source and time, kept forever; and the current state per scope (the latest change), which decides
 * whether a proactive message may go.
 *
 * - Marketing needs the contact's opt-in on that channel (or on every channel), and no later opt-out.
 * - Transactional messages (an order shipped, an appointment tomorrow) need no opt-in: they are what the
 *   customer asked for by doing business. An explicit opt-out of transactional messages is honoured.
 * - A customer writing an opt-out keyword (`STOP`, `配信停止`, `수신거부`, …) alone in a message opts out of
 *   marketing on that channel (see {@link optOutKeyword}). Transactional messages continue: "stop the
 *   promotions" is what such a message means in a customer-service chat, and the order update they still need.
 */
import { createHash } from 'node:crypto';
import type { Channel, Content } from '../content.ts';
import type { Actor, Contact } from '../conversations/model.ts';
import type { ConversationStore } from '../conversations/ports.ts';
import { onceEvent } from '../events/outbox.ts';
import type { Purpose } from '../model.ts';
import { NEW_RECORD, retryOnConflict, type Versioned } from '../shared/store.ts';
import { millis } from '../shared/time.ts';
import type { ConsentEntry } from './model.ts';
import type { DeliveryStore } from './ports.ts';

export { CONSENT_STATUSES, ConsentEntrySchema } from './model.ts';
export type { ConsentEntry, ConsentScope } from './model.ts';

export type ConsentVerdict =
  | { readonly kind: 'allowed'; readonly basis: 'opted_in' | 'transactional' }
  | { readonly kind: 'refused'; readonly code: 'no_consent'; readonly reason: string; readonly entry?: ConsentEntry };

/**
 * Which of two changes is the later: by their time to the second (providers stamp a customer's message in whole
 * seconds, so a `STOP` written just after an opt-in through the API may carry an earlier time), an opt-out
 * winning a tie (when in doubt, the customer is not written to), then the one recorded later. Negative when `a`
 * is the later.
 */
export const laterFirst = (a: ConsentEntry, b: ConsentEntry): number => {
  const seconds = Math.floor(millis(b.at) / 1000) - Math.floor(millis(a.at) / 1000);
  if (seconds !== 0) return seconds;
  if (a.status !== b.status) return a.status === 'opted_out' ? -1 : 1;
  return millis(b.recordedAt) - millis(a.recordedAt) || millis(b.at) - millis(a.at);
};

/** The entry that decides a scope: the later of the channel's own and every channel's (see {@link laterFirst}). */
const deciding = (states: readonly ConsentEntry[], channel: Channel, purpose: Purpose): ConsentEntry | undefined =>
  states.filter((s) => s.purpose === purpose && (s.channel === undefined || s.channel === channel)).sort(laterFirst)[0];

/** The entry that decides each scope (purpose, and channel or every channel) among these states. */
export const currentConsent = (states: readonly ConsentEntry[]): ConsentEntry[] => {
  const byScope = new Map<string, ConsentEntry>();
  for (const entry of [...states].sort(laterFirst)) {
    const scope = `${entry.purpose}/${entry.channel ?? '*'}`;
    if (!byScope.has(scope)) byScope.set(scope, entry);
  }
  return [...byScope.values()];
};

/** Whether a proactive message of this purpose may go to the contact on this channel. */
export const consentVerdict = (states: readonly ConsentEntry[], channel: Channel, purpose: Purpose): ConsentVerdict => {
  const entry = deciding(states, channel, purpose);
  if (entry?.status === 'opted_out') {
    const how = entry.source === 'keyword' ? `by writing "${entry.detail ?? 'STOP'}"` : `(source: ${entry.source})`;
    return {
      kind: 'refused',
      code: 'no_consent',
      reason: `The contact opted out of ${purpose} messages on ${entry.channel ?? 'every channel'} at ${entry.at} ${how}`,
      entry,
    };
  }
  if (purpose === 'transactional') return { kind: 'allowed', basis: 'transactional' };
  if (entry?.status === 'opted_in') return { kind: 'allowed', basis: 'opted_in' };
  return {
    kind: 'refused',
    code: 'no_consent',
    reason: `The contact has not opted in to marketing messages on ${channel}; record their opt-in with POST /v1/consents first`,
  };
};

/** How many contacts merged into one (directly, or into one merged into it) have their consent read. */
const MAX_MERGED_CONTACTS = 100;

/**
 * The consent states that decide for a contact: its own and those of every contact merged into it (a merge is the
 * same person, and an opt-out written on one of their identities must not disappear when the contacts are joined).
 * The states are kept per contact, so an unmerge finds each contact's own.
 */
export const consentStatesOf = async (
  stores: { readonly delivery: Pick<DeliveryStore, 'listConsentStates'>; readonly conversations: Pick<ConversationStore, 'getContact'> },
  contact: Pick<Contact, 'id' | 'merges'>,
): Promise<ConsentEntry[]> => {
  const seen = new Set([contact.id]);
  const pending = contact.merges.map((m) => m.contactId);
  const states = await stores.delivery.listConsentStates(contact.id);
  while (pending.length > 0 && seen.size < MAX_MERGED_CONTACTS) {
    const id = pending.shift() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    states.push(...(await stores.delivery.listConsentStates(id)));
    // A contact merged into this one may have had others merged into it before.
    const merged = await stores.conversations.getContact(id);
    if (merged?.value.mergedInto !== undefined) pending.push(...merged.value.merges.map((m) => m.contactId));
  }
  return states;
};

/**
 * Whether a proactive message already written may still go, by the consent of now: a customer who opted out after
 * it was queued (a campaign message waiting for its turn, a failed one sent again) is not written to. Undefined for
 * a message that is not proactive, or whose contact is gone (the sender has its own answer for those).
 */
export const consentAtSend = async (
  stores: { readonly delivery: Pick<DeliveryStore, 'listConsentStates'>; readonly conversations: Pick<ConversationStore, 'getContact'> },
  message: {
    readonly contactId?: string | undefined;
    readonly channel: Channel;
    readonly notification?: { readonly purpose: Purpose } | undefined;
  },
): Promise<ConsentVerdict | undefined> => {
  if (message.notification === undefined || message.contactId === undefined || message.contactId === '') return undefined;
  let contact = (await stores.conversations.getContact(message.contactId))?.value;
  for (let hops = 0; contact?.mergedInto !== undefined && hops < 10; hops++)
    contact = (await stores.conversations.getContact(contact.mergedInto))?.value;
  if (contact === undefined) return undefined;
  return consentVerdict(await consentStatesOf(stores, contact), message.channel, message.notification.purpose);
};

/**
 * Opt-out words, in the languages of the six channels' markets: English; Japanese and Traditional Chinese (LINE
 * in Japan and Taiwan); Korean (KakaoTalk); Thai (LINE); Indonesian, Spanish and Portuguese (WhatsApp in
 * Indonesia, Latin America and Brazil); Russian (Telegram). Only a message that is the word alone counts ("stop" inside a sentence
 * is not an opt-out), and never a word a customer writes about an order: `CANCEL`, `END` and `QUIT`, opt-out
 * words for SMS, usually mean the order or the conversation in a support chat. Telegram's `/stop` counts.
 */
export const OPT_OUT_KEYWORDS: readonly string[] = [
  // English
  'stop',
  'stopall',
  'stop all',
  'unsubscribe',
  'opt out',
  'optout',
  'opt-out',
  'stop promotions',
  'stop messages',
  // Japanese
  '停止',
  '配信停止',
  '配信解除',
  '登録解除',
  '購読解除',
  'ストップ',
  'メッセージ停止',
  // Traditional and Simplified Chinese
  '退訂',
  '退订',
  '取消訂閱',
  '取消订阅',
  // Korean
  '중지',
  '수신거부',
  '수신 거부',
  '수신중지',
  '수신 중지',
  '구독취소',
  '구독 취소',
  '광고거부',
  '무료수신거부',
  // Thai
  'หยุด',
  'หยุดส่ง',
  'เลิกรับ',
  'ยกเลิกรับข่าวสาร',
  'ยกเลิกการรับข่าวสาร',
  // Indonesian
  'berhenti',
  'berhenti langganan',
  'unreg',
  // Spanish
  'baja',
  'darme de baja',
  'parar',
  'alto',
  'detener',
  'no más',
  'no mas',
  // Portuguese
  'pare',
  'sair',
  'descadastrar',
  'cancelar inscrição',
  'cancelar inscricao',
  // Russian (Telegram's largest markets speak it)
  'стоп',
  'отписаться',
  'отписка',
  'отменить подписку',
];
const KEYWORDS = new Set(OPT_OUT_KEYWORDS.map((k) => k.normalize('NFKC').toLowerCase()));

/** Case, width (`ＳＴＯＰ`), surrounding spaces and punctuation, and a bot command's slash do not matter. */
const normalizeWord = (text: string): string =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .replace(/@\w+$/u, '') // `/stop@shop_bot` in a group
    .replace(/\s+/gu, ' ');

/**
 * The opt-out keyword a customer's message is, or undefined: a text that is the word alone, or a tapped button
 * or quick reply whose label or payload is (a template's "Stop promotions" button).
 */
export const optOutKeyword = (content: Content): string | undefined => {
  const candidates =
    content.type === 'text' ? [content.text] : content.type === 'reply' ? [content.text, content.payload.replaceAll('_', ' ')] : [];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate.length > 60) continue;
    const word = normalizeWord(candidate);
    if (KEYWORDS.has(word)) return candidate.trim();
  }
  return undefined;
};

/**
 * A ledger entry's id, which orders the ledger as {@link laterFirst} decides: the second it was given, then its
 * status (an opt-out after an opt-in of the same second), then the milliseconds; then a hash of what makes it
 * unique (the idempotency key of the request, the customer's message), so the same change recorded twice is one
 * entry.
 */
export const consentEntryId = (at: string, status: ConsentEntry['status'], ...parts: readonly string[]): string => {
  const ms = Math.max(0, millis(at));
  const second = Math.floor(ms / 1000)
    .toString(36)
    .padStart(7, '0');
  const within = String(ms % 1000).padStart(3, '0');
  return `cns_${second}${status === 'opted_out' ? '1' : '0'}${within}_${createHash('sha256').update(parts.join('\u001f')).digest('base64url').slice(0, 16)}`;
};

/** The store's part the ledger uses. */
export type ConsentLedger = Pick<DeliveryStore, 'getConsentEntry' | 'getConsentState' | 'commit'>;

export interface RecordedConsent {
  readonly entry: ConsentEntry;
  /** False when an entry with this id was recorded before (a retried request, a redelivered message). */
  readonly recorded: boolean;
  /** False when a later change of the same scope is already recorded: the entry is history only. */
  readonly current: boolean;
}

/**
 * Records a change in the ledger, and as the scope's current state unless a later change is there already
 * (changes can arrive out of order: a webhook retried after an API call). Idempotent on the entry's id.
 * Publishes `consent.changed`.
 */
export const recordConsent = (store: ConsentLedger, entry: ConsentEntry): Promise<RecordedConsent> =>
  retryOnConflict(async () => {
    const existing = await store.getConsentEntry(entry.contactId, entry.id);
    if (existing) return { entry: existing.value, recorded: false, current: false };
    const state: Versioned<ConsentEntry> | undefined = await store.getConsentState(entry);
    const current = state === undefined || laterFirst(entry, state.value) <= 0;
    await store.commit([
      {
        kind: 'consentEntry',
        op: 'put',
        value: entry,
        version: NEW_RECORD,
        events: [onceEvent('consent.changed', entry.recordedAt, [entry.contactId, entry.id], { current })],
      },
      ...(current ? [{ kind: 'consentState' as const, op: 'put' as const, value: entry, version: state?.version ?? NEW_RECORD }] : []),
    ]);
    return { entry, recorded: true, current };
  });

/** How many of the survivor's ledger entries an unmerge looks through for opt-outs. */
const MAX_UNMERGE_ENTRIES = 1_000;

/**
 * After an unmerge: the opt-outs the survivor recorded while the two contacts were one (a STOP written on either's
 * identity, or given for the joined contact) hold for the restored contact too. Which of them it came from cannot
 * be told apart afterwards, and when in doubt the customer is not written to. Opt-ins are not copied: each contact
 * gives its own again. Copies have ids derived from the original, so running this again records nothing new.
 */
export const keepOptOutsAfterUnmerge = async (
  store: ConsentLedger & Pick<DeliveryStore, 'listConsentEntries'>,
  survivorId: string,
  restoredId: string,
  mergedAt: string,
  now: string,
): Promise<number> => {
  let copied = 0;
  let cursor: string | undefined;
  let read = 0;
  do {
    const page = await store.listConsentEntries(survivorId, 100, cursor);
    read += page.items.length;
    for (const entry of page.items) {
      if (entry.status !== 'opted_out' || (millis(entry.at) < millis(mergedAt) && millis(entry.recordedAt) < millis(mergedAt))) continue;
      const copy: ConsentEntry = {
        ...entry,
        id: consentEntryId(entry.at, 'opted_out', 'unmerge', entry.id),
        contactId: restoredId,
        recordedAt: now,
      };
      if ((await recordConsent(store, copy)).recorded) copied += 1;
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined && read < MAX_UNMERGE_ENTRIES);
  return copied;
};

/** The entry a customer's opt-out keyword makes: marketing on that channel, with what they wrote. */
export const keywordOptOut = (input: {
  readonly id: string;
  readonly contactId: string;
  readonly channel: Channel;
  readonly keyword: string;
  readonly at: string;
  readonly recordedAt: string;
}): ConsentEntry => ({
  id: input.id,
  contactId: input.contactId,
  channel: input.channel,
  purpose: 'marketing',
  status: 'opted_out',
  source: 'keyword',
  detail: input.keyword.slice(0, 200),
  by: { type: 'customer', id: input.contactId } satisfies Actor,
  at: input.at,
  recordedAt: input.recordedAt,
});
