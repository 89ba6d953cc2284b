/**
 * Message content: the one shape every channel's messages are normalized into, and the one shape
 * integrators send. Channels differ only in which of these they can carry (see each sender's
 * capabilities); everything outside `connectors/` sees only these types.
 */
import * as z from 'zod';

/** The channels Parley knows. Adding one is a connector plus an entry here. */
export const CHANNELS = ['whatsapp', 'messenger', 'instagram', 'line', 'kakaotalk', 'telegram'] as const;
export const ChannelSchema = z.enum(CHANNELS).meta({ id: 'Channel' });
export type Channel = z.infer<typeof ChannelSchema>;

/** Formatting and mentions inside a text, as the provider marked them. Offsets are in UTF-16 code units. */
export const TextEntitySchema = z
  .object({
    type: z.string().min(1).describe('Provider entity type, e.g. bold, mention, url, bot_command'),
    offset: z.int().nonnegative().describe('Start, in UTF-16 code units'),
    length: z.int().positive().describe('Length, in UTF-16 code units'),
    url: z.string().optional(),
    userId: z.string().optional(),
  })
  .meta({ id: 'TextEntity' });

/** A reference to a media object held by the provider (and, later, copied into Parley's storage). */
export const MediaRefSchema = z
  .object({
    id: z.string().min(1).optional().describe("The provider's media id (e.g. Telegram file_id)"),
    uniqueId: z.string().optional().describe('A stable id across bots or tokens, when the provider has one'),
    url: z.url().optional().describe('A URL the media can be fetched from'),
    mimeType: z.string().optional(),
    fileName: z.string().optional(),
    size: z.int().nonnegative().optional().describe('Size in bytes'),
    width: z.int().positive().optional(),
    height: z.int().positive().optional(),
    durationSeconds: z.number().nonnegative().optional(),
  })
  .refine((m) => m.id !== undefined || m.url !== undefined, { message: 'media needs an id or a url' })
  .meta({ id: 'MediaRef' });

/** A button offered with a message; tapping it comes back as `reply` content carrying the payload. */
export const QuickReplySchema = z
  .object({
    text: z.string().min(1).max(256).describe('Label shown to the customer'),
    payload: z.string().min(1).max(1000).describe('Opaque value returned when tapped'),
  })
  .meta({ id: 'QuickReply' });

/**
 * A button that stays with its message (unlike a quick reply, which disappears once the customer answers):
 * `postback` comes back as `reply` content carrying the payload; `url` opens a web page.
 */
export const ButtonSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('postback'),
      text: z.string().min(1).max(256).describe('Label shown to the customer'),
      payload: z.string().min(1).max(1000).describe('Opaque value returned when tapped'),
    }),
    z.object({
      type: z.literal('url'),
      text: z.string().min(1).max(256).describe('Label shown to the customer'),
      url: z
        .url({ protocol: /^https?$/ })
        .max(1000)
        .describe('An http(s) page opened when tapped'),
    }),
  ])
  .meta({ id: 'Button' });

/** At most this many buttons on one message, on any channel; each channel shows its own maximum natively. */
export const MAX_BUTTONS = 10;

const text = z
  .object({
    type: z.literal('text'),
    text: z.string().min(1),
    entities: z.array(TextEntitySchema).optional(),
    quickReplies: z
      .array(QuickReplySchema)
      .min(1)
      .optional()
      .describe('Outbound only: answers offered with the text, which disappear once the customer answers'),
    buttons: z
      .array(ButtonSchema)
      .min(1)
      .max(MAX_BUTTONS)
      .optional()
      .describe('Outbound only: buttons that stay with the text (postbacks and links)'),
  })
  .refine((t) => t.quickReplies === undefined || t.buttons === undefined, {
    message: 'a text carries quick replies or buttons, not both',
    path: ['buttons'],
  });
const mediaKinds = ['image', 'audio', 'video', 'file'] as const;
const media = (kind: (typeof mediaKinds)[number]) =>
  z.object({
    type: z.literal(kind),
    media: MediaRefSchema,
    caption: z.string().min(1).optional(),
    captionEntities: z.array(TextEntitySchema).optional(),
  });
const sticker = z.object({ type: z.literal('sticker'), media: MediaRefSchema, emoji: z.string().optional() });
const location = z.object({
  type: z.literal('location'),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  name: z.string().optional(),
  address: z.string().optional(),
});
const contact = z.object({
  type: z.literal('contact'),
  name: z.string().min(1),
  phoneNumbers: z.array(z.string().min(1)).default([]),
  externalUserId: z.string().optional().describe("The shared person's id on the same channel, when known"),
});
const reply = z.object({
  type: z.literal('reply'),
  text: z.string().describe('The label the customer saw and tapped'),
  payload: z.string().describe('The payload attached to the button, quick reply or postback'),
});
const reaction = z.object({
  type: z.literal('reaction'),
  emoji: z.string().describe('The reaction; empty when a reaction was removed'),
  targetExternalId: z.string().min(1).describe("The provider's id of the message reacted to"),
});
/** One choice in a list; choosing it comes back as `reply` content carrying the payload. */
export const ListItemSchema = z
  .object({
    title: z.string().min(1).max(256),
    description: z.string().min(1).max(256).optional(),
    payload: z.string().min(1).max(1000).describe('Opaque value returned when chosen'),
  })
  .meta({ id: 'ListItem' });

/** At most this many items in one list, on any channel. */
export const MAX_LIST_ITEMS = 100;

const list = z
  .object({
    type: z.literal('list'),
    text: z.string().min(1).describe('What the list is about, shown above it'),
    buttonText: z.string().min(1).max(20).optional().describe('Label of the button that opens the list, where the channel shows one'),
    sections: z
      .array(z.object({ title: z.string().min(1).max(24).optional(), items: z.array(ListItemSchema).min(1) }))
      .min(1)
      .max(10),
  })
  .refine((l) => l.sections.reduce((n, s) => n + s.items.length, 0) <= MAX_LIST_ITEMS, {
    message: `a list holds at most ${MAX_LIST_ITEMS} items`,
    path: ['sections'],
  });

/** A value put into a template's placeholder. */
export const TemplateParameterSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('text'), text: z.string().min(1).max(1024) }),
    z.object({ type: z.enum(['image', 'video', 'file']), media: MediaRefSchema }),
  ])
  .meta({ id: 'TemplateParameter' });

/**
 * A message template the provider approved beforehand (WhatsApp), the only content some channels deliver
 * outside their messaging window. Parley names it and fills its placeholders; the provider holds the text.
 */
const template = z.object({
  type: z.literal('template'),
  name: z
    .string()
    .regex(/^[a-z0-9_]{1,512}$/, 'lower-case letters, digits and `_`')
    .describe("The template's name at the provider"),
  language: z
    .string()
    .regex(/^[a-z]{2,3}(_[A-Za-z0-9]{2,8})?$/, 'a language code such as `en` or `en_US`')
    .describe('The language of the approved translation to send'),
  header: TemplateParameterSchema.optional().describe("The header's placeholder, for templates whose header has one"),
  body: z
    .union([z.array(z.string().min(1).max(1024)).min(1), z.record(z.string().regex(/^[a-z0-9_]{1,64}$/), z.string().min(1).max(1024))])
    .optional()
    .describe('Body placeholders: positional (`{{1}}`, `{{2}}`, ...) as a list, or named (`{{first_name}}`) as an object'),
  buttons: z
    .array(
      z
        .object({
          index: z.int().min(0).max(9).describe("The button's position in the template"),
          payload: z.string().min(1).max(1000).optional().describe('For a quick-reply button: what comes back when tapped'),
          urlSuffix: z.string().min(1).max(2000).optional().describe('For a URL button with a placeholder: the end of its URL'),
        })
        .refine((b) => (b.payload === undefined) !== (b.urlSuffix === undefined), {
          message: 'a template button takes a payload (quick reply) or a urlSuffix (link), exactly one',
        }),
    )
    .optional(),
  fallbackText: z
    .string()
    .min(1)
    .optional()
    .describe("The text the template renders to, kept in the thread's history so people reading it see what was sent"),
});

const unsupported = z.object({
  type: z.literal('unsupported'),
  providerType: z.string().min(1).describe("The provider's own name for what was sent"),
});

/** Content types that carry a {@link MediaRef}, which the media copier copies into Parley's storage. */
export const MEDIA_CONTENT_TYPES = ['image', 'audio', 'video', 'file', 'sticker'] as const;

export const ContentSchema = z
  .discriminatedUnion('type', [
    text,
    media('image'),
    media('audio'),
    media('video'),
    media('file'),
    sticker,
    location,
    contact,
    reply,
    reaction,
    list,
    template,
    unsupported,
  ])
  .meta({ id: 'Content' });
export type Content = z.infer<typeof ContentSchema>;
export type ContentType = Content['type'];
export type TextEntity = z.infer<typeof TextEntitySchema>;
export type MediaRef = z.infer<typeof MediaRefSchema>;
export type QuickReply = z.infer<typeof QuickReplySchema>;
export type Button = z.infer<typeof ButtonSchema>;
export type ListItem = z.infer<typeof ListItemSchema>;
export type TemplateParameter = z.infer<typeof TemplateParameterSchema>;

/**
 * What an integrator may send. Narrower than what customers can send: nothing that only a customer
 * produces (a tapped reply, a reaction, an unsupported type).
 */
export const OUTBOUND_CONTENT_TYPES = ['text', 'image', 'audio', 'video', 'file', 'sticker', 'location', 'list', 'template'] as const;
export type OutboundContentType = (typeof OUTBOUND_CONTENT_TYPES)[number];
export type OutboundContent = Extract<Content, { type: OutboundContentType }>;

export const isOutboundContent = (content: Content): content is OutboundContent =>
  (OUTBOUND_CONTENT_TYPES as readonly string[]).includes(content.type);

// Every media content type is a member of the union (checked at compile time).
const _mediaTypesAreContent: readonly ContentType[] = MEDIA_CONTENT_TYPES;
