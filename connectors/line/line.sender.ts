/**
 * Outbound LINE: Parley content → message objects → push (or reply) calls of at most five objects each.
 * A message is planned as a list of message objects first (a long text is several, a caption follows its
 * image as text), then the objects not yet sent are sent in order, so a retry resumes where the last
 * attempt stopped.
 *
 * Buttons that fit go in a buttons template; others, and lists (LINE has no list message), degrade to quick
 * replies or a numbered text (see connectors/degrade.ts), never dropping what the agent sent.
 * @see https://developers.line.biz/en/reference/messaging-api/#message-objects
 * @see https://developers.line.biz/en/reference/messaging-api/#buttons
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Button, MediaRef, OutboundContent, QuickReply } from '../../domain/content.ts';
import { InvalidRequestError } from '../../domain/provider-errors.ts';
import { quickRepliesAsText } from '../connector.ts';
import type { ChannelSender, SendContext, SendRequest, SendResult } from '../connector.ts';
import { buttonsAsQuickReplies, listAsChoices, listAsText, fitsButtons } from '../degrade.ts';
import { shorten, splitTail, splitText } from '../text.ts';
import { LINE_CAPABILITIES } from './line.capabilities.ts';
import { callLineSend, isInvalidReplyToken, LINE_PUSH_PATH, LINE_REPLY_PATH, lineRetryKey, type LineSentMessage } from './line.api.ts';

/** One LINE message object (text, image, ...), as sent. */
export type LineMessageObject = Readonly<Record<string, unknown>>;

/** Message objects per push or reply request. @see https://developers.line.biz/en/reference/messaging-api/#send-push-message */
export const LINE_MAX_MESSAGES_PER_CALL = 5;

/** Location `title` and `address` are at most 100 characters. @see https://developers.line.biz/en/reference/messaging-api/#location-message */
const LOCATION_FIELD_MAX = 100;

/** Postback `data` is 1–300 characters; counting code units never undercounts. */
const POSTBACK_DATA_MAX = 300;

/**
 * A buttons template's `text`: "Max character limit: 160" without a title or image, as Parley sends it.
 * @see https://developers.line.biz/en/reference/messaging-api/#buttons
 */
const BUTTONS_TEXT_MAX = 160;

/** A template message's `altText`: "Max character limit: 400". @see https://developers.line.biz/en/reference/messaging-api/#template-messages */
const ALT_TEXT_MAX = 400;

const fitsPostbackData = (data: string): boolean => data.length >= 1 && data.length <= POSTBACK_DATA_MAX;

const fitsQuickReply = (quickReplies: readonly QuickReply[]): boolean =>
  quickReplies.length <= LINE_CAPABILITIES.quickReplies.max && quickReplies.every((reply) => fitsPostbackData(reply.payload));

/**
 * Quick replies as postback actions: tapping one sends Parley a `postback` event with the payload as
 * `data`, while `displayText` shows the full label in the chat as the customer's message.
 * @see https://developers.line.biz/en/reference/messaging-api/#quick-reply
 * @see https://developers.line.biz/en/reference/messaging-api/#postback-action
 */
const quickReplyOf = (quickReplies: readonly QuickReply[]) => ({
  items: quickReplies.map((reply) => ({
    type: 'action',
    action: {
      type: 'postback',
      label: shorten(reply.text, LINE_CAPABILITIES.quickReplies.maxLabelLength),
      data: reply.payload,
      displayText: reply.text,
    },
  })),
});

const textObjects = (text: string): LineMessageObject[] =>
  splitText(text, LINE_CAPABILITIES.maxTextLength).map((part) => ({ type: 'text', text: part }));

/**
 * A text with quick replies on its last object (LINE shows them only under the latest message), or with them
 * as a numbered list when they do not fit.
 */
const textWithQuickReplies = (text: string, quickReplies: readonly QuickReply[] | undefined): LineMessageObject[] => {
  if (quickReplies === undefined || quickReplies.length === 0) return textObjects(text);
  if (!fitsQuickReply(quickReplies)) return textObjects(quickRepliesAsText(text, quickReplies));
  const objects = textObjects(text);
  const last = objects.length - 1;
  return objects.map((object, index) => (index === last ? { ...object, quickReply: quickReplyOf(quickReplies) } : object));
};

/**
 * A button as a template action: a postback shows its full label in the chat as the customer's message
 * (`displayText`) and comes back as a `postback` event with the payload as `data`; a link opens in LINE's
 * browser.
 * @see https://developers.line.biz/en/reference/messaging-api/#postback-action
 * @see https://developers.line.biz/en/reference/messaging-api/#uri-action
 */
const actionOf = (button: Button): LineMessageObject =>
  button.type === 'url'
    ? { type: 'uri', label: button.text, uri: button.url }
    : { type: 'postback', label: button.text, data: button.payload, displayText: button.text };

/**
 * A text with buttons: a buttons template when they fit, carrying the end of the text (at most 160
 * characters) while the start goes first as text. `altText`, which notifications and clients without
 * templates show, holds that end with the buttons written out. Buttons that do not fit degrade: postbacks to
 * quick replies, links written out in the text.
 * @see https://developers.line.biz/en/reference/messaging-api/#buttons
 */
const buttonObjects = (text: string, buttons: readonly Button[]): LineMessageObject[] => {
  if (!fitsButtons(buttons, LINE_CAPABILITIES.buttons, fitsPostbackData)) {
    const degraded = buttonsAsQuickReplies(text, buttons);
    return textWithQuickReplies(degraded.text, degraded.quickReplies);
  }
  const { head, tail } = splitTail(text, BUTTONS_TEXT_MAX);
  const written = buttonsAsQuickReplies(tail, buttons);
  const altText = shorten(written.quickReplies ? quickRepliesAsText(written.text, written.quickReplies) : written.text, ALT_TEXT_MAX);
  const template = { type: 'template', altText, template: { type: 'buttons', text: tail, actions: buttons.map(actionOf) } };
  return [...(head === '' ? [] : textObjects(head)), template];
};

/** LINE fetches media itself, over HTTPS only; a provider id means nothing to it. */
const httpsUrlOf = (media: MediaRef, type: string): string => {
  const url = media.url;
  if (url === undefined) throw new InvalidRequestError(`LINE sends ${type} by HTTPS URL only, and this ${type} has none`);
  if (!url.startsWith('https://')) throw new InvalidRequestError(`LINE fetches ${type} over HTTPS only: ${url}`);
  return url;
};

/** A link in a text, for media LINE cannot show as such. */
const linkObjects = (label: string | undefined, url: string, caption: string | undefined): LineMessageObject[] =>
  textObjects([caption, label ? `${label}: ${url}` : url].filter(Boolean).join('\n'));

const withCaption = (object: LineMessageObject, caption: string | undefined): LineMessageObject[] =>
  caption ? [object, ...textObjects(caption)] : [object];

/**
 * A sticker's MediaRef id is `<packageId>:<stickerId>`, as the normalizer writes it; only stickers LINE
 * lets bots send will be accepted.
 * @see https://developers.line.biz/en/docs/messaging-api/sticker-list/
 */
const stickerObject = (media: MediaRef): LineMessageObject => {
  const match = /^(\d+):(\d+)$/.exec(media.id ?? '');
  if (!match) throw new InvalidRequestError('a LINE sticker is sent by id "<packageId>:<stickerId>"');
  return { type: 'sticker', packageId: match[1], stickerId: match[2] };
};

/**
 * The message objects that deliver a message, in order. Pure. Quick replies go on the last object: LINE
 * shows them only under the latest message.
 * - text with buttons: a buttons template (see {@link buttonObjects}).
 * - list: quick replies when its items fit (no descriptions or section titles to lose), else a numbered text.
 * - image: the URL serves as preview too (Parley content has no separate preview).
 * - video: LINE requires a preview image, which Parley content does not carry: sent as a link.
 * - audio: sent as audio when its duration is known (LINE requires it), else as a link.
 * - file: bots cannot send files: sent as a link with the file name.
 * @see https://developers.line.biz/en/reference/messaging-api/#message-objects
 */
export const planLineMessages = (request: SendRequest): LineMessageObject[] => {
  const content: OutboundContent = request.content;
  switch (content.type) {
    case 'text':
      if (content.buttons !== undefined) return buttonObjects(content.text, content.buttons);
      return textWithQuickReplies(content.text, content.quickReplies);
    case 'list': {
      const choices = listAsChoices(content, LINE_CAPABILITIES.quickReplies.maxLabelLength);
      return fitsQuickReply(choices.quickReplies)
        ? textWithQuickReplies(choices.text, choices.quickReplies)
        : textObjects(listAsText(content));
    }
    case 'template':
      throw new InvalidRequestError('LINE has no provider-approved templates');
    case 'image': {
      const url = httpsUrlOf(content.media, 'image');
      return withCaption({ type: 'image', originalContentUrl: url, previewImageUrl: url }, content.caption);
    }
    case 'video':
      return linkObjects(content.media.fileName, httpsUrlOf(content.media, 'video'), content.caption);
    case 'audio': {
      const url = httpsUrlOf(content.media, 'audio');
      const seconds = content.media.durationSeconds;
      if (seconds === undefined || seconds <= 0) return linkObjects(content.media.fileName, url, content.caption);
      return withCaption({ type: 'audio', originalContentUrl: url, duration: Math.round(seconds * 1000) }, content.caption);
    }
    case 'file':
      return linkObjects(content.media.fileName ?? 'File', httpsUrlOf(content.media, 'file'), content.caption);
    case 'sticker':
      return [stickerObject(content.media)];
    case 'location':
      return [
        {
          type: 'location',
          title: shorten(content.name || 'Location', LOCATION_FIELD_MAX),
          address: shorten(content.address || `${content.latitude}, ${content.longitude}`, LOCATION_FIELD_MAX),
          latitude: content.latitude,
          longitude: content.longitude,
        },
      ];
  }
};

/**
 * Sends up to five message objects with a push: any time, to a user, group or room id; counts against the
 * monthly quota. With a retry key, a repeat of an accepted request is answered 409 and not delivered twice.
 * @see https://developers.line.biz/en/reference/messaging-api/#send-push-message
 */
export const pushLineMessages = (
  to: string,
  messages: readonly LineMessageObject[],
  context: Pick<SendContext, 'apiBaseUrl' | 'credentials' | 'fetch'>,
  retryKey?: string,
): Promise<readonly LineSentMessage[] | undefined> => callLineSend(LINE_PUSH_PATH, { to, messages }, context, retryKey);

/**
 * Sends up to five message objects in answer to a webhook event: free, but only once per token and only
 * within a minute of the webhook. Takes no retry key: a second reply with the same token fails with
 * "Invalid reply token" instead of being delivered twice.
 * @see https://developers.line.biz/en/reference/messaging-api/#send-reply-message
 */
export const replyLineMessages = (
  replyToken: string,
  messages: readonly LineMessageObject[],
  context: Pick<SendContext, 'apiBaseUrl' | 'credentials' | 'fetch'>,
): Promise<readonly LineSentMessage[] | undefined> => callLineSend(LINE_REPLY_PATH, { replyToken, messages }, context);

/**
 * The reply token of the customer's last message (the recipient's reply handle) when it is still within its
 * lifetime and nothing of this message went out yet: a resumed attempt follows a push, or a reply LINE took.
 * The handle is offered for every message until it expires, but LINE accepts a token once: the first
 * message answers with it, and the next finds it spent and pushes.
 */
const usableReplyToken = (request: SendRequest, now: number): string | undefined => {
  const handle = request.recipient.replyHandle;
  if (handle === undefined || handle.value === '' || request.sentParts.length > 0) return undefined;
  return now < Date.parse(handle.expiresAt) ? handle.value : undefined;
};

/**
 * The ids of a call's messages: LINE's `sentMessages` ids when it listed one per object; otherwise (an
 * older API answer, or a 409 without the list) ids derived from the call, stable across retries of it.
 */
const idsOf = (sent: readonly LineSentMessage[] | undefined, count: number, fallbackPrefix: string, first: number): string[] =>
  sent !== undefined && sent.length === count
    ? sent.map((message) => message.id)
    : Array.from({ length: count }, (_, i) => `${fallbackPrefix}:${first + i}`);

/**
 * Sends a message's remaining parts, five message objects per call. The first call is a reply when the
 * recipient carries a usable reply token (free, and shown as an answer); a token LINE refuses as invalid
 * (spent or expired) falls back to push, since the customer is still waiting. A reply takes no retry key:
 * when its answer is lost, the retry finds the token spent and pushes, which may deliver the message twice. Every other call is a push whose retry key derives from
 * Parley's message id and the first part it carries. The parts an earlier attempt sent are skipped by
 * count, which is sound because the plan is a pure function of the request.
 */
const send = async (request: SendRequest, context: SendContext): Promise<SendResult> => {
  const plan = planLineMessages(request);
  const externalIds = [...request.sentParts];
  const to = request.recipient.conversation.externalId;
  let replyToken = usableReplyToken(request, Date.now());
  for (let first = request.sentParts.length; first < plan.length; first += LINE_MAX_MESSAGES_PER_CALL) {
    const chunk = plan.slice(first, first + LINE_MAX_MESSAGES_PER_CALL);
    let ids: string[] | undefined;
    if (replyToken !== undefined) {
      const token = replyToken;
      replyToken = undefined;
      try {
        const sent = await replyLineMessages(token, chunk, context);
        ids = idsOf(sent, chunk.length, `reply-${createHash('sha256').update(token).digest('hex').slice(0, 24)}`, first);
      } catch (error) {
        if (!isInvalidReplyToken(error)) throw error;
      }
    }
    if (ids === undefined) {
      const retryKey = request.messageId === undefined ? undefined : lineRetryKey(request.messageId, first);
      const sent = await pushLineMessages(to, chunk, context, retryKey);
      ids = idsOf(sent, chunk.length, `push-${retryKey ?? randomUUID()}`, first);
    }
    for (const [index, id] of ids.entries()) {
      await context.onPartSent(id, first + index < plan.length - 1);
      externalIds.push(id);
    }
  }
  return { externalIds };
};

/** LINE asks for no calls in answer to webhooks. */
const perform: ChannelSender['perform'] = async (action) => {
  throw new InvalidRequestError(`LINE has no action ${action}`);
};

export const lineSender: ChannelSender = { capabilities: LINE_CAPABILITIES, send, perform };
