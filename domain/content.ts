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

const text = z.object({
  type: z.literal('text'),
  text: z.string().min(1),
  entities: z.array(TextEntitySchema).optional(),
  quickReplies: z.array(QuickReplySchema).min(1).optional().describe('Outbound only: buttons offered with the text'),
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
    unsupported,
  ])
  .meta({ id: 'Content' });
export type Content = z.infer<typeof ContentSchema>;
export type ContentType = Content['type'];
export type TextEntity = z.infer<typeof TextEntitySchema>;
export type MediaRef = z.infer<typeof MediaRefSchema>;
export type QuickReply = z.infer<typeof QuickReplySchema>;

/**
 * What an integrator may send. Narrower than what customers can send: nothing that only a customer
 * produces (a tapped reply, a reaction, an unsupported type).
 */
export const OUTBOUND_CONTENT_TYPES = ['text', 'image', 'audio', 'video', 'file', 'sticker', 'location'] as const;
export type OutboundContentType = (typeof OUTBOUND_CONTENT_TYPES)[number];
export type OutboundContent = Extract<Content, { type: OutboundContentType }>;

export const isOutboundContent = (content: Content): content is OutboundContent =>
  (OUTBOUND_CONTENT_TYPES as readonly string[]).includes(content.type);

// Every media content type is a member of the union (checked at compile time).
const _mediaTypesAreContent: readonly ContentType[] = MEDIA_CONTENT_TYPES;
