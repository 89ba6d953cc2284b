/**
 * Outbound Telegram: Parley content → Bot API calls. A message is planned as a list of calls first (a long
 * text is several `sendMessage`s, a caption too long for its photo follows as text), then the calls not yet
 * made are made in order, so a retry resumes where the last attempt stopped.
 *
 * Quick replies, buttons and lists all become inline keyboards, one button per row, on the last part of the
 * text; what a keyboard cannot carry degrades to text (see connectors/degrade.ts), never dropped.
 * @see https://core.telegram.org/bots/api#inlinekeyboardmarkup
 */
import * as z from 'zod';
import type { Button, MediaRef, OutboundContent, QuickReply } from '../../domain/content.ts';
import { InvalidRequestError, PermanentProviderError } from '../../domain/provider-errors.ts';
import { quickRepliesAsText } from '../connector.ts';
import type { ChannelSender, SendContext, SendRequest, SendResult } from '../connector.ts';
import { buttonsAsQuickReplies, listAsQuickReplies, listAsText, listItemsOf, type ListContent, fitsButtons } from '../degrade.ts';
import { shorten, splitText, utf8Length } from '../text.ts';
import { TELEGRAM_CAPABILITIES } from './telegram.capabilities.ts';
import { callTelegram } from './telegram.api.ts';
import { ANSWER_CALLBACK_QUERY, telegramMessageId } from './telegram.normalize.ts';

/** One Bot API call of a planned send. */
export interface TelegramCall {
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** Chat ids are numbers (≤ 52 bits, safe in JS); `@channelusername` is the only string form. */
const chatIdParam = (externalId: string): number | string => {
  if (/^-?\d+$/.test(externalId)) {
    const id = Number(externalId);
    if (Number.isSafeInteger(id)) return id;
  }
  return externalId;
};

/**
 * `reply_parameters` for a Parley message id `${chat.id}:${message_id}`; undefined for ids that are not a
 * Telegram message (a button tap's `callback:…`). Sending goes ahead if the customer deleted the message
 * meanwhile: an agent's answer matters more than its quote.
 * @see https://core.telegram.org/bots/api#replyparameters
 */
const replyParametersOf = (replyTo: SendRequest['replyTo'], chatExternalId: string): Record<string, unknown> | undefined => {
  if (replyTo === undefined) return undefined;
  const id = replyTo.externalMessageId;
  const colon = id.lastIndexOf(':');
  const chatPart = id.slice(0, colon);
  const messagePart = id.slice(colon + 1);
  if (colon <= 0 || !/^-?\d+$/.test(chatPart) || !/^\d+$/.test(messagePart)) return undefined;
  const messageId = Number(messagePart);
  if (!Number.isSafeInteger(messageId) || messageId <= 0) return undefined;
  return {
    message_id: messageId,
    ...(chatPart !== chatExternalId && { chat_id: chatIdParam(chatPart) }),
    allow_sending_without_reply: true,
  };
};

type InlineKeyboard = { readonly inline_keyboard: readonly (readonly Readonly<Record<string, string>>[])[] };

/** `callback_data` is 1–64 bytes. @see https://core.telegram.org/bots/api#inlinekeyboardbutton */
const fitsCallbackData = (data: string): boolean => {
  const bytes = utf8Length(data);
  return bytes >= 1 && bytes <= TELEGRAM_CAPABILITIES.quickReplies.maxPayloadBytes;
};

const fitsKeyboard = (quickReplies: readonly QuickReply[]): boolean =>
  quickReplies.length <= TELEGRAM_CAPABILITIES.quickReplies.max && quickReplies.every((reply) => fitsCallbackData(reply.payload));

/** One button per row, as `callback_data` buttons. @see https://core.telegram.org/bots/api#inlinekeyboardmarkup */
const inlineKeyboardOf = (quickReplies: readonly QuickReply[]): InlineKeyboard => ({
  inline_keyboard: quickReplies.map((reply) => [
    { text: shorten(reply.text, TELEGRAM_CAPABILITIES.quickReplies.maxLabelLength), callback_data: reply.payload },
  ]),
});

/**
 * A postback as a `callback_data` button, which comes back as a `callback_query` with the payload as `data`;
 * a link as a `url` button, which the client opens.
 * @see https://core.telegram.org/bots/api#inlinekeyboardbutton
 */
const keyboardButtonOf = (button: Button): Readonly<Record<string, string>> =>
  button.type === 'url' ? { text: button.text, url: button.url } : { text: button.text, callback_data: button.payload };

/** The keyboard goes on the last part, the quote on the first. @see https://core.telegram.org/bots/api#sendmessage */
const messageCalls = (
  chatId: number | string,
  body: string,
  keyboard: InlineKeyboard | undefined,
  replyParameters: Record<string, unknown> | undefined,
): TelegramCall[] => {
  const parts = splitText(body, TELEGRAM_CAPABILITIES.maxTextLength);
  return parts.map((part, index) => ({
    method: 'sendMessage',
    params: {
      chat_id: chatId,
      text: part,
      ...(index === 0 && replyParameters && { reply_parameters: replyParameters }),
      ...(index === parts.length - 1 && keyboard && { reply_markup: keyboard }),
    },
  }));
};

/** A text with its quick replies as a keyboard, or as a numbered list when they do not fit one. */
const textCalls = (
  chatId: number | string,
  text: string,
  quickReplies: readonly QuickReply[] | undefined,
  replyParameters: Record<string, unknown> | undefined,
): TelegramCall[] => {
  if (quickReplies === undefined || quickReplies.length === 0) return messageCalls(chatId, text, undefined, replyParameters);
  if (!fitsKeyboard(quickReplies)) return messageCalls(chatId, quickRepliesAsText(text, quickReplies), undefined, replyParameters);
  return messageCalls(chatId, text, inlineKeyboardOf(quickReplies), replyParameters);
};

/**
 * A text with buttons: an inline keyboard when they fit; otherwise postbacks degrade to quick replies (a
 * numbered list when a payload is over 64 bytes) and links are written out in the text.
 */
const buttonCalls = (
  chatId: number | string,
  text: string,
  buttons: readonly Button[],
  replyParameters: Record<string, unknown> | undefined,
): TelegramCall[] => {
  if (!fitsButtons(buttons, TELEGRAM_CAPABILITIES.buttons, fitsCallbackData)) {
    const degraded = buttonsAsQuickReplies(text, buttons);
    return textCalls(chatId, degraded.text, degraded.quickReplies, replyParameters);
  }
  return messageCalls(chatId, text, { inline_keyboard: buttons.map((button) => [keyboardButtonOf(button)]) }, replyParameters);
};

/**
 * A list: an inline keyboard with one row per item, under the list's text. A button shows only a label, so
 * when items have descriptions, sections have titles or a title is longer than a label, the text lists them
 * all, numbered in the keyboard's order. Payloads a keyboard cannot carry make it a numbered text.
 */
const listCalls = (chatId: number | string, list: ListContent, replyParameters: Record<string, unknown> | undefined): TelegramCall[] => {
  const choices = listItemsOf(list).map((item) => ({ text: item.title, payload: item.payload }));
  if (!fitsKeyboard(choices)) return messageCalls(chatId, listAsText(list), undefined, replyParameters);
  const labelsSayAll = listAsQuickReplies(list, TELEGRAM_CAPABILITIES.quickReplies.maxLabelLength) !== undefined;
  return messageCalls(chatId, labelsSayAll ? list.text : listAsText(list), inlineKeyboardOf(choices), replyParameters);
};

/** A file already on Telegram's servers is sent by `file_id`; anything else by URL, which Telegram fetches. */
const fileOf = (media: MediaRef): string => {
  const file = media.id ?? media.url;
  if (file === undefined) throw new InvalidRequestError('media needs an id or a url');
  return file;
};

/**
 * A media message; a caption longer than Telegram allows follows as text instead of being cut.
 * @see https://core.telegram.org/bots/api#sendphoto
 */
const mediaCalls = (
  method: string,
  field: string,
  chatId: number | string,
  media: MediaRef,
  caption: string | undefined,
  replyParameters: Record<string, unknown> | undefined,
): TelegramCall[] => {
  const fitting = caption !== undefined && caption.length <= TELEGRAM_CAPABILITIES.maxCaptionLength;
  const first: TelegramCall = {
    method,
    params: {
      chat_id: chatId,
      [field]: fileOf(media),
      ...(fitting && { caption }),
      ...(replyParameters && { reply_parameters: replyParameters }),
    },
  };
  return caption !== undefined && !fitting ? [first, ...textCalls(chatId, caption, undefined, undefined)] : [first];
};

/** The Bot API calls that deliver a message, in order. Pure. */
export const planTelegramCalls = (request: SendRequest): TelegramCall[] => {
  const conversationId = request.recipient.conversation.externalId;
  const chatId = chatIdParam(conversationId);
  const replyParameters = replyParametersOf(request.replyTo, conversationId);
  const content: OutboundContent = request.content;
  switch (content.type) {
    case 'text':
      if (content.buttons !== undefined) return buttonCalls(chatId, content.text, content.buttons, replyParameters);
      return textCalls(chatId, content.text, content.quickReplies, replyParameters);
    case 'list':
      return listCalls(chatId, content, replyParameters);
    case 'template':
      throw new InvalidRequestError('Telegram has no provider-approved templates');
    case 'image':
      return mediaCalls('sendPhoto', 'photo', chatId, content.media, content.caption, replyParameters);
    case 'file':
      return mediaCalls('sendDocument', 'document', chatId, content.media, content.caption, replyParameters);
    case 'audio':
      return mediaCalls('sendAudio', 'audio', chatId, content.media, content.caption, replyParameters);
    case 'video':
      return mediaCalls('sendVideo', 'video', chatId, content.media, content.caption, replyParameters);
    case 'sticker':
      return mediaCalls('sendSticker', 'sticker', chatId, content.media, undefined, replyParameters);
    case 'location': {
      const point = { chat_id: chatId, latitude: content.latitude, longitude: content.longitude };
      const reply = replyParameters && { reply_parameters: replyParameters };
      // A venue needs both a title and an address; a bare point is a location.
      // @see https://core.telegram.org/bots/api#sendvenue
      if (content.name && content.address) {
        return [{ method: 'sendVenue', params: { ...point, title: content.name, address: content.address, ...reply } }];
      }
      return [{ method: 'sendLocation', params: { ...point, ...reply } }];
    }
  }
};

/** Every send method answers with the sent Message. */
const SentMessageSchema = z.looseObject({ message_id: z.int() });

/**
 * Sends a message's remaining parts. The parts an earlier attempt already sent are skipped by count, which
 * is sound because the plan is a pure function of the request.
 */
const send = async (request: SendRequest, context: SendContext): Promise<SendResult> => {
  const calls = planTelegramCalls(request);
  const externalIds = [...request.sentParts];
  const conversationId = request.recipient.conversation.externalId;
  const remaining = calls.slice(request.sentParts.length);
  for (const [index, call] of remaining.entries()) {
    const result = SentMessageSchema.safeParse(await callTelegram(call.method, call.params, context));
    if (!result.success) {
      // The message went out, so a retry would send it twice; record the oddity and stop instead.
      throw new PermanentProviderError(`Telegram accepted ${call.method} but returned no message_id`);
    }
    const externalId = telegramMessageId(conversationId, result.data.message_id);
    await context.onPartSent(externalId, index < remaining.length - 1);
    externalIds.push(externalId);
  }
  return { externalIds };
};

/**
 * Provider actions a webhook asked for. `answerCallbackQuery` stops the spinner on a tapped button.
 * @see https://core.telegram.org/bots/api#answercallbackquery
 */
const perform: ChannelSender['perform'] = async (action, params, context) => {
  switch (action) {
    case ANSWER_CALLBACK_QUERY: {
      const id = params['callback_query_id'];
      if (typeof id !== 'string' || id === '') {
        throw new InvalidRequestError('answerCallbackQuery needs a callback_query_id');
      }
      await callTelegram(ANSWER_CALLBACK_QUERY, { callback_query_id: id }, context);
      return;
    }
    default:
      throw new InvalidRequestError(`Telegram has no action ${action}`);
  }
};

export const telegramSender: ChannelSender = { capabilities: TELEGRAM_CAPABILITIES, send, perform };
