/**
 * WhatsApp Cloud API webhook → Parley events. Loops over every entry × change × message/status/echo: Meta
 * batches notifications, and connectors that read only the first element lose the rest silently.
 * Pure; never throws for a parsed webhook; what it cannot use is listed in `ignored`.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
 */
import * as z from 'zod';
import type { Content, MediaRef } from '../../domain/content.ts';
import { EVENT_SCHEMA_VERSION, EVENT_TYPES } from '../../domain/events.ts';
import type { ConversationRef, MessageReceivedEvent, MessageStatusEvent, ParleyEvent, Sender } from '../../domain/events.ts';
import { deterministicId } from '../../domain/ids.ts';
import type { NormalizeContext, NormalizeResult } from '../connector.ts';
import {
  type WhatsAppContactProfile,
  WhatsAppContactProfileSchema,
  type WhatsAppError,
  WhatsAppErrorSchema,
  type WhatsAppMedia,
  type WhatsAppMessage,
  WhatsAppMessageSchema,
  WhatsAppSharedContactSchema,
  WhatsAppStatusSchema,
  type WhatsAppValue,
  WhatsAppValueSchema,
  type WhatsAppWebhook,
} from './whatsapp.schema.ts';

/** Separates a message id from the index of a second shared contact in the same message. */
export const CONTACT_PART_SEPARATOR = '#contact';

interface Collector {
  readonly events: ParleyEvent[];
  readonly ignored: string[];
}

/** The largest instant a JS Date can hold, in ms. */
const MAX_DATE_MS = 8.64e15;

/** WhatsApp timestamps are strings of Unix seconds. */
const isoFromSeconds = (seconds: string | undefined, fallback: string): string => {
  if (seconds === undefined || !/^\d{1,15}$/.test(seconds)) return fallback;
  const ms = Number(seconds) * 1000;
  return ms <= MAX_DATE_MS ? new Date(ms).toISOString() : fallback;
};

const eventIdOf = (accountId: string, ...parts: string[]): string => deterministicId('evt', 'whatsapp', accountId, ...parts);

const unsupported = (providerType: string): Content => ({ type: 'unsupported', providerType });

/** `"131047 Re-engagement message: Message failed to send because more than 24 hours have passed…"` */
const describeError = (error: WhatsAppError): string => {
  const title = error.title ?? error.message ?? 'error';
  const details = error.error_data?.details;
  return details && details !== title ? `${title}: ${details}` : title;
};

const HttpsUrlSchema = z.url({ protocol: /^https$/ });

/** A media URL is kept only when it is one the event schema accepts. */
const isHttpsUrl = (value: string | undefined): value is string => value !== undefined && HttpsUrlSchema.safeParse(value).success;

const mediaRefOf = (media: WhatsAppMedia): MediaRef => {
  const ref: MediaRef = { id: media.id };
  if (isHttpsUrl(media.url)) ref.url = media.url;
  if (media.mime_type) ref.mimeType = media.mime_type;
  if (media.filename) ref.fileName = media.filename;
  return ref;
};

const mediaContent = (type: 'image' | 'audio' | 'video' | 'file', media: WhatsAppMedia): Content => {
  const ref = mediaRefOf(media);
  return media.caption ? { type, media: ref, caption: media.caption } : { type, media: ref };
};

/**
 * The contents of a message: one, except for a `contacts` message, which may share several people.
 * Undefined for a system notice (a customer changed number), which is not something anyone said.
 */
const contentsOf = (message: WhatsAppMessage): Content[] | undefined => {
  switch (message.type) {
    case 'text':
      return [message.text && message.text.body !== '' ? { type: 'text', text: message.text.body } : unsupported('text')];
    case 'image':
      return [message.image ? mediaContent('image', message.image) : unsupported('image')];
    case 'video':
      return [message.video ? mediaContent('video', message.video) : unsupported('video')];
    case 'audio':
      // A voice note (`voice: true`) is audio too; its mime type (audio/ogg; codecs=opus) tells them apart.
      return [message.audio ? mediaContent('audio', message.audio) : unsupported('audio')];
    case 'document':
      return [message.document ? mediaContent('file', message.document) : unsupported('document')];
    case 'sticker':
      return [message.sticker ? { type: 'sticker', media: mediaRefOf(message.sticker) } : unsupported('sticker')];
    case 'location': {
      const location = message.location;
      if (!location) return [unsupported('location')];
      if (Math.abs(location.latitude) > 90 || Math.abs(location.longitude) > 180) return [unsupported('location')];
      const content: Content = { type: 'location', latitude: location.latitude, longitude: location.longitude };
      if (location.name) content.name = location.name;
      if (location.address) content.address = location.address;
      return [content];
    }
    case 'contacts': {
      const contents: Content[] = [];
      for (const raw of message.contacts ?? []) {
        const parsed = WhatsAppSharedContactSchema.safeParse(raw);
        if (!parsed.success) continue;
        const { name, phones = [] } = parsed.data;
        const phoneNumbers = phones.map((p) => p.phone ?? p.wa_id ?? '').filter((p) => p !== '');
        const fullName = name?.formatted_name || [name?.first_name, name?.last_name].filter(Boolean).join(' ');
        const shown = fullName || phoneNumbers[0];
        if (!shown) continue;
        const content: Content = { type: 'contact', name: shown, phoneNumbers };
        const waId = phones.find((p) => p.wa_id)?.wa_id;
        if (waId) content.externalUserId = waId;
        contents.push(content);
      }
      return contents.length > 0 ? contents : [unsupported('contacts')];
    }
    case 'interactive': {
      // button_reply and list_reply carry the id Parley gave the button or row; anything else (a Flow's
      // nfm_reply, a future kind) is kept as unsupported with its kind.
      const interactive = message.interactive;
      const tapped =
        interactive?.type === 'button_reply'
          ? interactive.button_reply
          : interactive?.type === 'list_reply'
            ? interactive.list_reply
            : undefined;
      if (!tapped) return [unsupported(`interactive.${interactive?.type ?? 'unknown'}`)];
      return [{ type: 'reply', text: tapped.title ?? tapped.id, payload: tapped.id }];
    }
    case 'button': {
      // A template's quick-reply button, not an interactive message.
      const button = message.button;
      if (!button || (button.payload === undefined && button.text === undefined)) return [unsupported('button')];
      return [{ type: 'reply', text: button.text ?? button.payload ?? '', payload: button.payload ?? button.text ?? '' }];
    }
    case 'reaction':
      // Removing a reaction is the same notification without an emoji.
      if (!message.reaction) return [unsupported('reaction')];
      return [{ type: 'reaction', emoji: message.reaction.emoji ?? '', targetExternalId: message.reaction.message_id }];
    case 'system':
      return undefined;
    default:
      // `unsupported`/`unknown` (code 131051), order, and types Meta adds later.
      return [unsupported(message.type || 'unknown')];
  }
};

/** The profile sent for a customer, matched by id; the only one when there is exactly one. */
const profileFor = (contacts: readonly WhatsAppContactProfile[], userId: string): WhatsAppContactProfile | undefined =>
  contacts.find((c) => c.wa_id === userId || c.user_id === userId) ?? (contacts.length === 1 ? contacts[0] : undefined);

const customerOf = (message: WhatsAppMessage, contacts: readonly WhatsAppContactProfile[]): Sender | undefined => {
  const userId = message.from ?? message.from_user_id ?? (contacts.length === 1 ? (contacts[0]?.wa_id ?? contacts[0]?.user_id) : undefined);
  if (!userId) return undefined;
  const sender: Sender = { externalUserId: userId };
  // `from` is the customer's WhatsApp number (digits, no `+`), which WhatsApp verified when they registered;
  // absent for customers known only by a username (their business-scoped id).
  if (message.from && /^\d{6,15}$/.test(message.from)) sender.verifiedPhone = `+${message.from}`;
  const profile = profileFor(contacts, userId);
  if (profile?.profile?.name) sender.displayName = profile.profile.name;
  if (profile?.profile?.username) sender.username = profile.profile.username;
  return sender;
};

/** A customer's messages are a direct conversation keyed by their WhatsApp id; group messages by group. */
const conversationOf = (message: WhatsAppMessage, userId: string): ConversationRef =>
  message.group_id ? { externalId: message.group_id, kind: 'group' } : { externalId: userId, kind: 'direct' };

const readContacts = (value: WhatsAppValue): WhatsAppContactProfile[] => {
  const contacts: WhatsAppContactProfile[] = [];
  for (const raw of value.contacts ?? []) {
    const parsed = WhatsAppContactProfileSchema.safeParse(raw);
    if (parsed.success) contacts.push(parsed.data);
  }
  return contacts;
};

const pushMessage = (
  message: WhatsAppMessage,
  direction: 'inbound' | 'outbound',
  sender: Sender,
  conversation: ConversationRef,
  accountId: string,
  context: NormalizeContext,
  out: Collector,
): void => {
  const contents = contentsOf(message);
  if (contents === undefined) {
    out.ignored.push(`message ${message.id}: system notice ${message.system?.type ?? ''}`.trimEnd());
    return;
  }
  if (message.errors?.[0] !== undefined) {
    const error = message.errors[0];
    out.ignored.push(`message ${message.id}: ${message.type} with error ${String(error.code ?? '?')} ${describeError(error)}`);
  }
  const occurredAt = isoFromSeconds(message.timestamp, context.receivedAt);
  const quoted = message.context?.id;
  contents.forEach((content, index) => {
    const externalMessageId = index === 0 ? message.id : `${message.id}${CONTACT_PART_SEPARATOR}${index + 1}`;
    const event: MessageReceivedEvent = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      eventId: eventIdOf(accountId, externalMessageId, 'message'),
      channel: 'whatsapp',
      accountId,
      providerEventId: message.id,
      occurredAt,
      receivedAt: context.receivedAt,
      type: EVENT_TYPES.messageReceived,
      direction,
      externalMessageId,
      sender,
      conversation,
      content,
    };
    if (quoted) event.replyTo = { externalMessageId: quoted };
    out.events.push(event);
  });
};

/**
 * A coexistence edit (WhatsApp Business app numbers only): the original message's new content.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/edit
 */
const pushEdit = (
  message: WhatsAppMessage,
  sender: Sender,
  conversation: ConversationRef,
  accountId: string,
  context: NormalizeContext,
  out: Collector,
): void => {
  const edit = message.edit;
  const inner = edit?.message;
  const edited =
    edit && typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? WhatsAppMessageSchema.safeParse({ ...inner, id: edit.original_message_id })
      : undefined;
  const contents = edited?.success ? contentsOf(edited.data) : undefined;
  const content = contents?.[0];
  if (!edit || content === undefined) {
    out.ignored.push(`message ${message.id}: edit without readable content`);
    return;
  }
  const at = isoFromSeconds(message.timestamp, context.receivedAt);
  out.events.push({
    schemaVersion: EVENT_SCHEMA_VERSION,
    eventId: eventIdOf(accountId, message.id, 'edit'),
    channel: 'whatsapp',
    accountId,
    providerEventId: message.id,
    occurredAt: at,
    receivedAt: context.receivedAt,
    type: EVENT_TYPES.messageEdited,
    direction: 'inbound',
    externalMessageId: edit.original_message_id,
    editedAt: at,
    sender,
    conversation,
    content,
  });
};

const STATUSES = new Set(['sent', 'delivered', 'read', 'failed']);

/**
 * Statuses of messages the business sent. One event per (message, status): Meta redelivers, and the
 * thread writer moves a message's status forward only, so a late `delivered` after `read` is harmless.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status
 */
const pushStatus = (raw: unknown, accountId: string, context: NormalizeContext, out: Collector, where: string): void => {
  const parsed = WhatsAppStatusSchema.safeParse(raw);
  if (!parsed.success) {
    out.ignored.push(`${where}: status is not readable`);
    return;
  }
  const status = parsed.data;
  if (!STATUSES.has(status.status)) {
    out.ignored.push(`status ${status.id}: ${status.status} is not tracked`);
    return;
  }
  const event: MessageStatusEvent = {
    schemaVersion: EVENT_SCHEMA_VERSION,
    eventId: eventIdOf(accountId, status.id, 'status', status.status),
    channel: 'whatsapp',
    accountId,
    occurredAt: isoFromSeconds(status.timestamp, context.receivedAt),
    receivedAt: context.receivedAt,
    type: EVENT_TYPES.messageStatus,
    externalMessageId: status.id,
    status: status.status as MessageStatusEvent['status'],
  };
  if (status.recipient_id) event.recipient = { externalUserId: status.recipient_id };
  const error = status.errors?.[0];
  if (error !== undefined) event.error = { code: String(error.code ?? 'unknown'), message: describeError(error) };
  else if (status.status === 'failed') event.error = { code: 'unknown', message: 'failed without an error from WhatsApp' };
  out.events.push(event);
};

const normalizeValue = (field: string, rawValue: unknown, where: string, context: NormalizeContext, out: Collector): void => {
  const parsedValue = WhatsAppValueSchema.safeParse(rawValue);
  if (!parsedValue.success) {
    out.ignored.push(`${where}: ${field} value is not readable`);
    return;
  }
  const value = parsedValue.data;
  // Several numbers share one app and one callback URL: the payload, never the URL, names the account.
  const accountId = value.metadata?.phone_number_id ?? context.accountId;
  const contacts = readContacts(value);

  (value.messages ?? []).forEach((raw, index) => {
    const parsed = WhatsAppMessageSchema.safeParse(raw);
    if (!parsed.success) {
      out.ignored.push(`${where}.messages[${index}]: message is not readable`);
      return;
    }
    const message = parsed.data;
    const sender = customerOf(message, contacts);
    if (sender === undefined) {
      out.ignored.push(`message ${message.id}: no sender`);
      return;
    }
    const conversation = conversationOf(message, sender.externalUserId);
    if (message.type === 'edit') pushEdit(message, sender, conversation, accountId, context, out);
    else if (message.type === 'revoke')
      out.ignored.push(`message ${message.id}: revoke of ${message.revoke?.original_message_id ?? '?'} (no delete event)`);
    else pushMessage(message, 'inbound', sender, conversation, accountId, context, out);
  });

  for (const [index, raw] of (value.statuses ?? []).entries()) pushStatus(raw, accountId, context, out, `${where}.statuses[${index}]`);

  // Coexistence: what the business typed in the WhatsApp Business app, echoed as outbound messages.
  // @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/smb_message_echoes
  (value.message_echoes ?? []).forEach((raw, index) => {
    const parsed = WhatsAppMessageSchema.safeParse(raw);
    if (!parsed.success || !parsed.data.to) {
      out.ignored.push(`${where}.message_echoes[${index}]: echo is not readable`);
      return;
    }
    const echo = parsed.data;
    const business = echo.from ?? value.metadata?.display_phone_number ?? accountId;
    pushMessage(echo, 'outbound', { externalUserId: business }, { externalId: echo.to ?? '', kind: 'direct' }, accountId, context, out);
  });

  // Out-of-band errors concern the app or the number, not one message: logged, nothing to store.
  for (const raw of value.errors ?? []) {
    const parsed = WhatsAppErrorSchema.safeParse(raw);
    const error = parsed.success ? parsed.data : {};
    out.ignored.push(`${where}: error ${String(error.code ?? '?')} ${describeError(error)}`);
  }
};

/** Fields whose values carry messages or statuses; others (template or quality updates, ...) are logged. */
const MESSAGE_FIELDS = new Set(['messages', 'smb_message_echoes']);

/** The events a webhook means. @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview */
export const normalizeWhatsAppWebhook = (webhook: WhatsAppWebhook, context: NormalizeContext): NormalizeResult => {
  const out: Collector = { events: [], ignored: [] };
  webhook.entry.forEach((entry, e) => {
    entry.changes.forEach((change, c) => {
      const where = `entry[${e}].changes[${c}]`;
      if (!MESSAGE_FIELDS.has(change.field)) {
        out.ignored.push(`${where}: ${change.field} notifications are not handled`);
        return;
      }
      normalizeValue(change.field, change.value, where, context, out);
    });
  });
  return out;
};
