/**
 * Outbound WhatsApp: Parley content → Cloud API message bodies. A message is planned as a list of bodies
 * first (a long text is several messages, a caption WhatsApp cannot carry follows as text), then the bodies
 * not yet sent are posted in order, so a retry resumes where the last attempt stopped.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 */
import type { MediaRef, OutboundContent, QuickReply } from '../../domain/content.ts';
import { InvalidRequestError } from '../../domain/provider-errors.ts';
import { quickRepliesAsText } from '../connector.ts';
import type { ChannelSender, Recipient, SendContext, SendRequest, SendResult } from '../connector.ts';
// The splitter is channel-neutral (UTF-16 limits, never cutting a grapheme); shared until it moves to lib/.
import { shorten, splitText } from '../text.ts';
import { postWhatsAppMessage } from './whatsapp.api.ts';
import {
  WHATSAPP_CAPABILITIES,
  WHATSAPP_MAX_BUTTON_ID,
  WHATSAPP_MAX_BUTTON_TITLE,
  WHATSAPP_MAX_BUTTONS,
  WHATSAPP_MAX_INTERACTIVE_BODY,
  WHATSAPP_MAX_ROW_DESCRIPTION,
  WHATSAPP_MAX_ROW_ID,
  WHATSAPP_MAX_ROW_TITLE,
  WHATSAPP_MAX_ROWS,
} from './whatsapp.capabilities.ts';
import { CONTACT_PART_SEPARATOR } from './whatsapp.normalize.ts';

export type WhatsAppBody = Readonly<Record<string, unknown>>;

/** The label of the button that opens a list message (≤ 20 characters). */
export const LIST_BUTTON_LABEL = 'Options';

/**
 * A message template, the only thing WhatsApp delivers outside the 24-hour window. Parley's outbound
 * content has no template type yet; {@link templateBody} renders one for when it does.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
 */
export interface WhatsAppTemplate {
  readonly name: string;
  readonly languageCode: string;
  /** Positional body parameters `{{1}}`, `{{2}}`, ... */
  readonly bodyParameters?: readonly string[];
}

/** Every body names the product and the recipient: a customer's WhatsApp id, or a group id. */
const base = (to: Recipient) => ({
  messaging_product: 'whatsapp',
  recipient_type: to.conversation.kind === 'group' ? 'group' : 'individual',
  to: to.conversation.externalId,
});

/** `context.message_id` quotes a message; a second shared contact's id names its message before the `#`. */
const contextOf = (replyTo: SendRequest['replyTo']): { context: { message_id: string } } | undefined => {
  if (replyTo === undefined) return undefined;
  const id = replyTo.externalMessageId.split(CONTACT_PART_SEPARATOR)[0] ?? '';
  return id === '' ? undefined : { context: { message_id: id } };
};

/** Text never previews links: a preview shows content the agent did not choose. */
const textBody = (to: Recipient, body: string): WhatsAppBody => ({ ...base(to), type: 'text', text: { preview_url: false, body } });

export type QuickReplyRendering = 'buttons' | 'list' | 'text';

/**
 * How quick replies are shown: up to 3 short ones as reply buttons, up to 10 as a list, anything else as a
 * numbered text the customer answers by typing.
 */
export const interactiveKindOf = (quickReplies: readonly QuickReply[]): QuickReplyRendering => {
  const idsFit = (max: number) => quickReplies.every((q) => q.payload.length <= max);
  if (quickReplies.length <= WHATSAPP_MAX_BUTTONS && idsFit(WHATSAPP_MAX_BUTTON_ID) && quickReplies.every((q) => q.text.length <= WHATSAPP_MAX_BUTTON_TITLE)) {
    return 'buttons';
  }
  if (quickReplies.length <= WHATSAPP_MAX_ROWS && idsFit(WHATSAPP_MAX_ROW_ID)) return 'list';
  return 'text';
};

/** @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-messages */
const buttonsBody = (to: Recipient, text: string, quickReplies: readonly QuickReply[]): WhatsAppBody => ({
  ...base(to),
  type: 'interactive',
  interactive: {
    type: 'button',
    body: { text },
    action: { buttons: quickReplies.map((q) => ({ type: 'reply', reply: { id: q.payload, title: q.text } })) },
  },
});

/**
 * A row title longer than 24 characters is shortened, and the whole label goes in the description.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-list-messages
 */
const listBody = (to: Recipient, text: string, quickReplies: readonly QuickReply[]): WhatsAppBody => ({
  ...base(to),
  type: 'interactive',
  interactive: {
    type: 'list',
    body: { text },
    action: {
      button: LIST_BUTTON_LABEL,
      sections: [
        {
          rows: quickReplies.map((q) =>
            q.text.length <= WHATSAPP_MAX_ROW_TITLE
              ? { id: q.payload, title: q.text }
              : { id: q.payload, title: shorten(q.text, WHATSAPP_MAX_ROW_TITLE), description: shorten(q.text, WHATSAPP_MAX_ROW_DESCRIPTION) },
          ),
        },
      ],
    },
  },
});

/** The quote goes on the first part, the buttons on the last. */
const textBodies = (to: Recipient, text: string, quickReplies: readonly QuickReply[] | undefined): WhatsAppBody[] => {
  const kind = quickReplies && quickReplies.length > 0 ? interactiveKindOf(quickReplies) : 'text';
  if (!quickReplies || kind === 'text') {
    const body = quickReplies && quickReplies.length > 0 ? quickRepliesAsText(text, quickReplies) : text;
    return splitText(body, WHATSAPP_CAPABILITIES.maxTextLength).map((part) => textBody(to, part));
  }
  // An interactive body holds 1024 characters: what does not fit goes before it as plain text.
  const parts = splitText(text, WHATSAPP_CAPABILITIES.maxTextLength);
  const last = splitText(parts.pop() ?? text, WHATSAPP_MAX_INTERACTIVE_BODY);
  const final = last.pop() ?? text;
  const bodies = [...parts, ...last].map((part) => textBody(to, part));
  bodies.push(kind === 'buttons' ? buttonsBody(to, final, quickReplies) : listBody(to, final, quickReplies));
  return bodies;
};

/** Media WhatsApp already holds goes by id; anything else by link, which WhatsApp fetches. */
const mediaObjectOf = (media: MediaRef): Record<string, string> => {
  if (media.id !== undefined) return { id: media.id };
  if (media.url !== undefined) return { link: media.url };
  throw new InvalidRequestError('media needs an id or a url');
};

type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

/** Image, video and document take a caption; audio and stickers do not, so theirs follows as text. */
const CAPTIONED: ReadonlySet<MediaKind> = new Set(['image', 'video', 'document']);

/** @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media */
const mediaBodies = (to: Recipient, kind: MediaKind, media: MediaRef, caption: string | undefined): WhatsAppBody[] => {
  const object: Record<string, string> = mediaObjectOf(media);
  const fits = caption !== undefined && CAPTIONED.has(kind) && caption.length <= WHATSAPP_CAPABILITIES.maxCaptionLength;
  if (fits) object['caption'] = caption;
  if (kind === 'document' && media.fileName) object['filename'] = media.fileName;
  const first: WhatsAppBody = { ...base(to), type: kind, [kind]: object };
  return caption !== undefined && !fits ? [first, ...textBodies(to, caption, undefined)] : [first];
};

/** The bodies that deliver a message, in order. Pure. */
export const planWhatsAppMessages = (request: SendRequest): WhatsAppBody[] => {
  const to = request.recipient;
  const content: OutboundContent = request.content;
  let bodies: WhatsAppBody[];
  switch (content.type) {
    case 'text':
      bodies = textBodies(to, content.text, content.quickReplies);
      break;
    case 'image':
      bodies = mediaBodies(to, 'image', content.media, content.caption);
      break;
    case 'video':
      bodies = mediaBodies(to, 'video', content.media, content.caption);
      break;
    case 'audio':
      bodies = mediaBodies(to, 'audio', content.media, content.caption);
      break;
    case 'file':
      bodies = mediaBodies(to, 'document', content.media, content.caption);
      break;
    case 'sticker':
      bodies = mediaBodies(to, 'sticker', content.media, undefined);
      break;
    case 'location': {
      // The published schema types coordinates as strings (the documented examples quote them too).
      const location: Record<string, string> = { latitude: String(content.latitude), longitude: String(content.longitude) };
      if (content.name) location['name'] = content.name;
      if (content.address) location['address'] = content.address;
      bodies = [{ ...base(to), type: 'location', location }];
      break;
    }
  }
  const quote = contextOf(request.replyTo);
  if (quote && bodies[0]) bodies[0] = { ...bodies[0], ...quote };
  return bodies;
};

/** A template message's body. @see https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates */
export const templateBody = (to: Recipient, template: WhatsAppTemplate): WhatsAppBody => ({
  ...base(to),
  type: 'template',
  template: {
    name: template.name,
    // `policy` is required by the published schema; `deterministic` is its only value.
    language: { policy: 'deterministic', code: template.languageCode },
    ...(template.bodyParameters &&
      template.bodyParameters.length > 0 && {
        components: [{ type: 'body', parameters: template.bodyParameters.map((text) => ({ type: 'text', text })) }],
      }),
  },
});

/** The business number sending: the account's own credential, else the recipient's account id. */
const phoneNumberIdOf = (request: SendRequest, context: SendContext): string => {
  const id = context.credentials['phoneNumberId'] || request.recipient.accountId;
  if (!id) throw new InvalidRequestError('WhatsApp phone number id is not configured');
  return id;
};

/**
 * Sends a message's remaining parts, skipping those an earlier attempt sent (by count: the plan is a pure
 * function of the request).
 */
const send = async (request: SendRequest, context: SendContext): Promise<SendResult> => {
  const bodies = planWhatsAppMessages(request);
  const phoneNumberId = phoneNumberIdOf(request, context);
  const externalIds = [...request.sentParts];
  for (const body of bodies.slice(request.sentParts.length)) {
    const wamid = await postWhatsAppMessage(body, phoneNumberId, context);
    await context.onPartSent(wamid);
    externalIds.push(wamid);
  }
  return { externalIds };
};

/** WhatsApp asks for no call in answer to a webhook. */
const perform: ChannelSender['perform'] = async (action) => {
  throw new InvalidRequestError(`WhatsApp has no action ${action}`);
};

export const whatsappSender: ChannelSender = { capabilities: WHATSAPP_CAPABILITIES, send, perform };
