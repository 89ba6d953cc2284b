/**
 * Outbound WhatsApp: Parley content → Cloud API message bodies. A message is planned as a list of bodies
 * first (a long text is several messages, a caption WhatsApp cannot carry follows as text), then the bodies
 * not yet sent are posted in order, so a retry resumes where the last attempt stopped.
 *
 * Quick replies and postback buttons become reply buttons or a list message when they fit, lists a list
 * message, templates a template message; what does not fit degrades to text (see connectors/degrade.ts).
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 */
import type { MediaRef, OutboundContent, QuickReply, TemplateParameter } from '../../domain/content.ts';
import { InvalidRequestError } from '../../domain/provider-errors.ts';
import { quickRepliesAsText } from '../connector.ts';
import type { ChannelSender, Recipient, SendContext, SendRequest, SendResult } from '../connector.ts';
import { buttonsAsQuickReplies, listAsText, listItemsOf, splitBeforeLast, type ListContent } from '../degrade.ts';
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
  WHATSAPP_MAX_SECTIONS,
} from './whatsapp.capabilities.ts';
import { CONTACT_PART_SEPARATOR } from './whatsapp.normalize.ts';

export type WhatsAppBody = Readonly<Record<string, unknown>>;

/** The label of the button that opens a list message (≤ 20 characters) when the agent named none. */
export const LIST_BUTTON_LABEL = 'Options';

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

const distinct = (values: readonly string[]): boolean => new Set(values).size === values.length;

/**
 * How quick replies (and postback buttons) are shown: up to 3 short ones as reply buttons, up to 10 as a
 * list, anything else as a numbered text the customer answers by typing. Reply buttons need distinct ids
 * and titles, a list distinct row ids: what repeats falls to the next rendering.
 */
export const interactiveKindOf = (quickReplies: readonly QuickReply[]): QuickReplyRendering => {
  const idsFit = (max: number) => quickReplies.every((q) => q.payload.length <= max) && distinct(quickReplies.map((q) => q.payload));
  const titlesFit = quickReplies.every((q) => q.text.length <= WHATSAPP_MAX_BUTTON_TITLE) && distinct(quickReplies.map((q) => q.text));
  if (quickReplies.length <= WHATSAPP_MAX_BUTTONS && idsFit(WHATSAPP_MAX_BUTTON_ID) && titlesFit) return 'buttons';
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

interface RowSource {
  readonly title: string;
  readonly payload: string;
  readonly description?: string | undefined;
}
interface Section {
  readonly title?: string | undefined;
  readonly rows: readonly Record<string, string>[];
}

/** A row title longer than 24 characters is shortened, and the whole label goes in the description. */
const rowOf = (row: RowSource): Record<string, string> =>
  row.title.length <= WHATSAPP_MAX_ROW_TITLE
    ? { id: row.payload, title: row.title, ...(row.description !== undefined && { description: row.description }) }
    : {
        id: row.payload,
        title: shorten(row.title, WHATSAPP_MAX_ROW_TITLE),
        description: shorten(row.description ?? row.title, WHATSAPP_MAX_ROW_DESCRIPTION),
      };

/** @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-list-messages */
const listBody = (to: Recipient, text: string, button: string, sections: readonly Section[]): WhatsAppBody => ({
  ...base(to),
  type: 'interactive',
  interactive: {
    type: 'list',
    body: { text },
    action: {
      button,
      sections: sections.map((section) => ({ ...(section.title !== undefined && { title: section.title }), rows: section.rows })),
    },
  },
});

/**
 * An interactive message carrying the end of a text: its body holds 1024 characters, so what does not fit
 * goes before it as plain text.
 */
const interactiveBodies = (to: Recipient, text: string, interactive: (body: string) => WhatsAppBody): WhatsAppBody[] => {
  const { before, last } = splitBeforeLast(text, WHATSAPP_CAPABILITIES.maxTextLength, WHATSAPP_MAX_INTERACTIVE_BODY);
  return [...before.map((part) => textBody(to, part)), interactive(last)];
};

/** The quote goes on the first part, the buttons on the last. */
const textBodies = (to: Recipient, text: string, quickReplies: readonly QuickReply[] | undefined): WhatsAppBody[] => {
  const kind = quickReplies && quickReplies.length > 0 ? interactiveKindOf(quickReplies) : 'text';
  if (!quickReplies || kind === 'text') {
    const body = quickReplies && quickReplies.length > 0 ? quickRepliesAsText(text, quickReplies) : text;
    return splitText(body, WHATSAPP_CAPABILITIES.maxTextLength).map((part) => textBody(to, part));
  }
  return interactiveBodies(to, text, (final) =>
    kind === 'buttons'
      ? buttonsBody(to, final, quickReplies)
      : listBody(to, final, LIST_BUTTON_LABEL, [{ rows: quickReplies.map((q) => rowOf({ title: q.text, payload: q.payload })) }]),
  );
};

/**
 * The sections of a list message showing a list whole, or undefined when it does not fit one: more than
 * 10 rows, a row id over 200 or repeated, a description over 72, or a title over 24 that cannot move into
 * an unused description. WhatsApp needs a title on each section once there are two: untitled sections
 * merge into one, and a list mixing titled and untitled ones is not shown natively.
 */
const listSectionsOf = (list: ListContent): Section[] | undefined => {
  const items = listItemsOf(list);
  const fits = items.every(
    (item) =>
      item.payload.length <= WHATSAPP_MAX_ROW_ID &&
      (item.description === undefined
        ? item.title.length <= WHATSAPP_MAX_ROW_DESCRIPTION
        : item.title.length <= WHATSAPP_MAX_ROW_TITLE && item.description.length <= WHATSAPP_MAX_ROW_DESCRIPTION),
  );
  if (!fits || items.length > WHATSAPP_MAX_ROWS || list.sections.length > WHATSAPP_MAX_SECTIONS) return undefined;
  if (!distinct(items.map((item) => item.payload))) return undefined;
  const titled = list.sections.filter((section) => section.title !== undefined).length;
  if (titled === 0) return [{ rows: items.map(rowOf) }];
  if (titled < list.sections.length) return undefined;
  return list.sections.map((section) => ({ title: section.title, rows: section.items.map(rowOf) }));
};

const listBodies = (to: Recipient, list: ListContent): WhatsAppBody[] => {
  const sections = listSectionsOf(list);
  if (sections === undefined) return textBodies(to, listAsText(list), undefined);
  return interactiveBodies(to, list.text, (final) => listBody(to, final, list.buttonText ?? LIST_BUTTON_LABEL, sections));
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

type TemplateContent = Extract<OutboundContent, { type: 'template' }>;

/**
 * A text placeholder as WhatsApp takes it: it refuses one holding a line break, a tab or more than four
 * spaces in a row ("Param text cannot have new-line/tab characters or more than 4 consecutive spaces"), so
 * each such run becomes one space; every word is kept, the approved template keeps its own line breaks.
 */
export const templateText = (text: string): string => text.replace(/[^\S\n\r\t]*[\n\r\t][\s]*| {5,}/g, ' ');

/** A header parameter: text, or media by id or link (a file is a `document`, with its name). */
const templateParameterOf = (parameter: TemplateParameter): Record<string, unknown> => {
  switch (parameter.type) {
    case 'text':
      return { type: 'text', text: templateText(parameter.text) };
    case 'image':
    case 'video':
      return { type: parameter.type, [parameter.type]: mediaObjectOf(parameter.media) };
    case 'file': {
      const document = mediaObjectOf(parameter.media);
      if (parameter.media.fileName) document['filename'] = parameter.media.fileName;
      return { type: 'document', document };
    }
  }
};

/**
 * A quick-reply button's payload (what comes back when tapped), or a URL button's dynamic suffix; one of
 * them, as the button in the template is one or the other.
 */
const templateButtonOf = (button: NonNullable<TemplateContent['buttons']>[number]): Record<string, unknown> => {
  const index = String(button.index);
  if (button.payload !== undefined && button.urlSuffix === undefined) {
    return { type: 'button', sub_type: 'quick_reply', index, parameters: [{ type: 'payload', payload: button.payload }] };
  }
  if (button.urlSuffix !== undefined && button.payload === undefined) {
    return { type: 'button', sub_type: 'url', index, parameters: [{ type: 'text', text: button.urlSuffix }] };
  }
  throw new InvalidRequestError(`template button ${index} needs either a payload or a URL suffix`);
};

/**
 * A template message's body: the header's placeholder, the body's placeholders (positional `{{1}}`, or
 * named `{{first_name}}` with `parameter_name`), and the buttons' parameters. `fallbackText` stays in
 * Parley: WhatsApp renders the approved text itself.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/templates/overview
 */
export const templateBody = (to: Recipient, template: TemplateContent): WhatsAppBody => {
  const components: Record<string, unknown>[] = [];
  if (template.header !== undefined) components.push({ type: 'header', parameters: [templateParameterOf(template.header)] });
  const { body } = template;
  if (body !== undefined) {
    const parameters = Array.isArray(body)
      ? body.map((text) => ({ type: 'text', text: templateText(text) }))
      : Object.entries(body).map(([name, text]) => ({ type: 'text', parameter_name: name, text: templateText(text) }));
    components.push({ type: 'body', parameters });
  }
  components.push(...(template.buttons ?? []).map(templateButtonOf));
  return {
    ...base(to),
    type: 'template',
    template: {
      name: template.name,
      // `policy` is required by the published schema; `deterministic` is its only value.
      language: { policy: 'deterministic', code: template.language },
      ...(components.length > 0 && { components }),
    },
  };
};

/** The bodies that deliver a message, in order. Pure. */
export const planWhatsAppMessages = (request: SendRequest): WhatsAppBody[] => {
  const to = request.recipient;
  const content: OutboundContent = request.content;
  let bodies: WhatsAppBody[];
  switch (content.type) {
    case 'text': {
      // Postback buttons go the way quick replies do (reply buttons, a list, a numbered text); links are
      // written out, WhatsApp's published schema having no link button.
      const { text, quickReplies } = content.buttons ? buttonsAsQuickReplies(content.text, content.buttons) : content;
      bodies = textBodies(to, text, quickReplies);
      break;
    }
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
    case 'list':
      bodies = listBodies(to, content);
      break;
    case 'template':
      bodies = [templateBody(to, content)];
      break;
  }
  const quote = contextOf(request.replyTo);
  if (quote && bodies[0]) bodies[0] = { ...bodies[0], ...quote };
  return bodies;
};

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
  const remaining = bodies.slice(request.sentParts.length);
  for (const [index, body] of remaining.entries()) {
    const wamid = await postWhatsAppMessage(body, phoneNumberId, context);
    await context.onPartSent(wamid, index < remaining.length - 1);
    externalIds.push(wamid);
  }
  return { externalIds };
};

/** WhatsApp asks for no call in answer to a webhook. */
const perform: ChannelSender['perform'] = async (action) => {
  throw new InvalidRequestError(`WhatsApp has no action ${action}`);
};

export const whatsappSender: ChannelSender = { capabilities: WHATSAPP_CAPABILITIES, send, perform };
