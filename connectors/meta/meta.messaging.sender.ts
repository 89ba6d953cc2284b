/**
 * Outbound Messenger and Instagram: Parley content → Send API requests. Both platforms take the same
 * `{recipient, message}` body; they differ in host, token, limits and a few fields, which a
 * {@link MetaSendProfile} names. A message is planned as a list of requests first (a long text is several
 * messages, a caption follows its media as text), then the requests not yet made are made in order, so a
 * retry resumes where the last attempt stopped.
 *
 * Buttons that fit go in a button template; others, and lists (neither platform has a list message any
 * more), degrade to quick replies or a numbered text (see connectors/degrade.ts). A message tag makes every
 * request of the message `messaging_type: MESSAGE_TAG` with Meta's name of the tag.
 *
 * @see https://developers.facebook.com/docs/messenger-platform/reference/send-api
 * @see https://developers.facebook.com/docs/messenger-platform/send-messages/quick-replies
 * @see https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/template/button
 * @see https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
 * @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api
 */
import * as z from 'zod';
import type { Button, MediaRef, OutboundContent, QuickReply } from '../../domain/content.ts';
import type { MessageTag } from '../../domain/model.ts';
import { InvalidRequestError, PermanentProviderError } from '../../domain/provider-errors.ts';
import { quickRepliesAsText } from '../connector.ts';
import type { ChannelCapabilities, ChannelSender, SendContext, SendRequest, SendResult } from '../connector.ts';
import { shorten, splitText, utf8Length } from '../text.ts';
import { buttonsAsQuickReplies, listAsChoices, listAsText, splitBeforeLast, fitsButtons } from '../degrade.ts';
import { callGraph } from './meta.graph-api.ts';

/** What differs between the Messenger and the Instagram Send API. */
export interface MetaSendProfile {
  /** For error messages: "Messenger send". */
  readonly what: string;
  readonly capabilities: ChannelCapabilities;
  /** The credential holding the access token (Page token, Instagram user token). */
  readonly tokenCredential: string;
  /** The credential naming the account the path is built from; `me` when it is not set. */
  readonly accountCredential: string;
  /** How the platform counts text length against `capabilities.maxTextLength`. */
  readonly measure: (text: string) => number;
  /** Messenger: `messaging_type: RESPONSE` on every message sent without a tag. */
  readonly messagingType: boolean;
  /** Messenger: Parley's message id in `message.metadata`, which the echo carries back. */
  readonly metadata: boolean;
  /** Messenger: media may be sent by `attachment_id` (a saved attachment) when there is no URL. */
  readonly attachmentIds: boolean;
}

/** One Send API request of a planned send. */
export interface MetaSendCall {
  readonly path: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * The text of a button template: "UTF-8-encoded text of up to 640 characters" (Messenger's reference;
 * Instagram's button template takes the same payload).
 * @see https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/template/button
 */
const BUTTON_TEMPLATE_MAX_TEXT = 640;

/**
 * A postback button's payload: "1000 character limit", checked in UTF-8 bytes like quick-reply payloads,
 * never more than Meta's count.
 * @see https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/buttons/postback
 */
const MAX_POSTBACK_PAYLOAD_BYTES = 1000;

/**
 * Meta's names of Parley's message tags (`messaging_type: MESSAGE_TAG`, `tag`).
 * @see https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
 */
const META_MESSAGE_TAGS = {
  human_agent: 'HUMAN_AGENT',
  account_update: 'ACCOUNT_UPDATE',
  confirmed_event_update: 'CONFIRMED_EVENT_UPDATE',
  post_purchase_update: 'POST_PURCHASE_UPDATE',
} as const satisfies Record<MessageTag, string>;

const fitsQuickReplies = (quickReplies: readonly QuickReply[], limits: ChannelCapabilities['quickReplies']): boolean =>
  quickReplies.length <= limits.max && quickReplies.every((reply) => utf8Length(reply.payload) <= limits.maxPayloadBytes);

/** @see https://developers.facebook.com/docs/messenger-platform/reference/buttons/quick-replies */
const quickRepliesOf = (quickReplies: readonly QuickReply[], limits: ChannelCapabilities['quickReplies']) =>
  quickReplies.map((reply) => ({ content_type: 'text', title: shorten(reply.text, limits.maxLabelLength), payload: reply.payload }));

/**
 * @see https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/buttons/postback
 * @see https://developers.facebook.com/docs/messenger-platform/reference/buttons/url
 */
const templateButtonOf = (button: Button) =>
  button.type === 'url'
    ? { type: 'web_url', url: button.url, title: button.text }
    : { type: 'postback', title: button.text, payload: button.payload };

/** Attachment types of the Send API. @see https://developers.facebook.com/docs/messenger-platform/send-messages#sending_attachments */
type AttachmentType = 'image' | 'video' | 'audio' | 'file';

/** A point as text, for platforms that cannot send a location: name, address and a map link. */
export const locationText = (content: Extract<OutboundContent, { type: 'location' }>): string => {
  const lines = [content.name, content.address].filter((line): line is string => line !== undefined && line !== '');
  lines.push(`https://maps.google.com/?q=${content.latitude},${content.longitude}`);
  return lines.join('\n');
};

/** `messaging_type` (and `tag`) of every request of a message. */
const messagingTypeOf = (request: SendRequest, profile: MetaSendProfile): Record<string, string> => {
  const tag = request.messageTag;
  if (tag === undefined) return profile.messagingType ? { messaging_type: 'RESPONSE' } : {};
  // The API checked the tag already; a request from elsewhere is refused here rather than by Graph.
  if (!profile.capabilities.messageTags.includes(tag)) throw new InvalidRequestError(`${profile.what}: no message tag ${tag}`);
  return { messaging_type: 'MESSAGE_TAG', tag: META_MESSAGE_TAGS[tag] };
};

/** The Send API requests that deliver a message, in order. Pure. */
export const planMetaSend = (request: SendRequest, profile: MetaSendProfile, accountId: string | undefined): MetaSendCall[] => {
  const path = `${accountId || 'me'}/messages`;
  const { capabilities, measure } = profile;
  const limits = capabilities.quickReplies;
  const messagingType = messagingTypeOf(request, profile);
  const call = (message: Record<string, unknown>): MetaSendCall => ({
    path,
    body: {
      recipient: { id: request.recipient.conversation.externalId },
      ...messagingType,
      message: { ...message, ...(profile.metadata && request.messageId && { metadata: request.messageId }) },
    },
  });
  const textCalls = (text: string, quickReplies: readonly QuickReply[] | undefined): MetaSendCall[] => {
    let body = text;
    let replies: ReturnType<typeof quickRepliesOf> | undefined;
    if (quickReplies !== undefined && quickReplies.length > 0) {
      if (fitsQuickReplies(quickReplies, limits)) replies = quickRepliesOf(quickReplies, limits);
      else body = quickRepliesAsText(text, quickReplies);
    }
    const parts = splitText(body, capabilities.maxTextLength, measure);
    return parts.map((part, index) => call({ text: part, ...(index === parts.length - 1 && replies && { quick_replies: replies }) }));
  };
  /** A button template carries the end of the text; what precedes it goes first as plain text. */
  const buttonCalls = (text: string, buttons: readonly Button[]): MetaSendCall[] => {
    if (!fitsButtons(buttons, capabilities.buttons, (payload) => utf8Length(payload) <= MAX_POSTBACK_PAYLOAD_BYTES)) {
      const degraded = buttonsAsQuickReplies(text, buttons);
      return textCalls(degraded.text, degraded.quickReplies);
    }
    const lastMax = Math.min(BUTTON_TEMPLATE_MAX_TEXT, capabilities.maxTextLength);
    const { before, last } = splitBeforeLast(text, capabilities.maxTextLength, lastMax, measure);
    const payload = { template_type: 'button', text: last, buttons: buttons.map(templateButtonOf) };
    return [...before.map((part) => call({ text: part })), call({ attachment: { type: 'template', payload } })];
  };
  const mediaCalls = (type: AttachmentType, media: MediaRef, caption: string | undefined): MetaSendCall[] => {
    let payload: Record<string, unknown>;
    if (media.url !== undefined) payload = profile.attachmentIds ? { url: media.url, is_reusable: true } : { url: media.url };
    else if (profile.attachmentIds && media.id !== undefined) payload = { attachment_id: media.id };
    else throw new InvalidRequestError(`${profile.what}: media needs a URL`);
    // The Send API has no captions: the caption follows as a text message.
    const first = call({ attachment: { type, payload } });
    return caption ? [first, ...textCalls(caption, undefined)] : [first];
  };
  const content: OutboundContent = request.content;
  switch (content.type) {
    case 'text':
      return content.buttons !== undefined ? buttonCalls(content.text, content.buttons) : textCalls(content.text, content.quickReplies);
    case 'image':
    case 'video':
    case 'audio':
    case 'file':
      return mediaCalls(content.type, content.media, content.caption);
    case 'sticker':
      // Neither platform sends stickers by id through the API; a sticker with a URL is its image.
      if (content.media.url === undefined) throw new InvalidRequestError(`${profile.what}: a sticker needs a URL`);
      return mediaCalls('image', { url: content.media.url }, undefined);
    case 'location':
      return textCalls(locationText(content), undefined);
    case 'list': {
      // Neither platform has a list message (Messenger deprecated its list template): quick replies when
      // they fit (with a numbered text when titles do not say everything), else a numbered text.
      const choices = listAsChoices(content, limits.maxLabelLength);
      return fitsQuickReplies(choices.quickReplies, limits)
        ? textCalls(choices.text, choices.quickReplies)
        : textCalls(listAsText(content), undefined);
    }
    case 'template':
      // Provider templates are WhatsApp's; the API never accepts one for these channels.
      throw new InvalidRequestError(`${profile.what}: no provider templates`);
  }
};

/** @see https://developers.facebook.com/docs/messenger-platform/reference/send-api#response */
const SendResponseSchema = z.looseObject({ message_id: z.string().min(1), recipient_id: z.string().optional() });

/** A {@link ChannelSender} for one platform. */
export const createMetaSender = (profile: MetaSendProfile): ChannelSender => {
  const send = async (request: SendRequest, context: SendContext): Promise<SendResult> => {
    const calls = planMetaSend(request, profile, context.credentials[profile.accountCredential]);
    const externalIds = [...request.sentParts];
    const remaining = calls.slice(request.sentParts.length);
    for (const [index, call] of remaining.entries()) {
      const answer = await callGraph({
        apiBaseUrl: context.apiBaseUrl,
        path: call.path,
        accessToken: context.credentials[profile.tokenCredential],
        body: call.body,
        fetch: context.fetch,
        what: profile.what,
      });
      const result = SendResponseSchema.safeParse(answer);
      if (!result.success) {
        // The message went out, so a retry would send it twice; record the oddity and stop instead.
        throw new PermanentProviderError(`${profile.what}: accepted but answered no message_id`);
      }
      await context.onPartSent(result.data.message_id, index < remaining.length - 1);
      externalIds.push(result.data.message_id);
    }
    return { externalIds };
  };
  const perform: ChannelSender['perform'] = async (action) => {
    throw new InvalidRequestError(`${profile.what}: no provider action ${action}`);
  };
  return { capabilities: profile.capabilities, send, perform };
};
