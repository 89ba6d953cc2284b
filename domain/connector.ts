/**
 * The port every channel connector implements (in `connectors/<channel>/`). All channel knowledge lives
 * behind it; the handlers, the domain and the runtime call these members and never ask which channel
 * they are talking to.
 */
import type { Channel, ContentType, MediaRef, OutboundContent, QuickReply } from './content.ts';
import type { ConversationRef, ParleyEvent, ReplyHandle } from './events.ts';
import type { MessageTag } from './model.ts';
import type { Credentials } from './ports.ts';

export type { Credentials };

/** The names of a channel's credentials: those its webhooks need, and those sending needs. */
export interface CredentialNames {
  readonly inbound: readonly string[];
  readonly outbound: readonly string[];
  /** Further settings read when present, kept in the secret store only (no environment variable). */
  readonly optional?: readonly string[];
}

/** An inbound HTTP request as the connector sees it: raw bytes, lower-cased header names. */
export interface WebhookRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The body exactly as received: signatures are computed over these bytes, never over re-serialized JSON. */
  readonly rawBody: Buffer;
}

/** A plain HTTP answer a connector asks the handler to give (handshakes, synchronous replies). */
export interface WebhookAnswer {
  readonly statusCode: number;
  readonly contentType?: string;
  readonly body: string;
}

export type ParseResult<P> =
  /** A payload of the provider's shape. */
  | { readonly kind: 'ok'; readonly payload: P }
  /** Not what the provider sends at all (not JSON): answered 400. */
  | { readonly kind: 'malformed'; readonly reason: string }
  /**
   * Well-formed but nothing Parley can use. Accepted with 200 and logged, for providers that would
   * otherwise retry a 4xx for a day.
   */
  | { readonly kind: 'ignored'; readonly reason: string };

export interface NormalizeContext {
  readonly accountId: string;
  /** When Parley received the webhook, ISO 8601 UTC. */
  readonly receivedAt: string;
}

export interface NormalizeResult {
  readonly events: ParleyEvent[];
  /** Parts of the payload deliberately not turned into events, with the reason, for the log. */
  readonly ignored: readonly string[];
}

/**
 * What a channel can carry outbound. The API refuses content a channel cannot render in any form; the
 * sender degrades the rest (for example quick replies beyond the limit become a numbered list).
 * @see docs/channels.md for the generated table.
 */
export interface ChannelCapabilities {
  readonly outboundTypes: readonly OutboundContent['type'][];
  /** Longest text in one provider message; longer texts are split. */
  readonly maxTextLength: number;
  readonly maxCaptionLength: number;
  readonly quickReplies: { readonly max: number; readonly maxPayloadBytes: number; readonly maxLabelLength: number };
  /**
   * Buttons shown natively with a text (more, or longer labels, degrade: to quick replies or a numbered
   * list, links written out). `url`: whether link buttons are native.
   */
  readonly buttons: { readonly max: number; readonly maxLabelLength: number; readonly url: boolean };
  /** A native list (menu of choices); absent: lists are shown as quick replies or a numbered text. */
  readonly lists?: { readonly maxItems: number; readonly maxSections: number };
  /** Message tags the channel accepts (see {@link MessageTag}); empty: none. */
  readonly messageTags: readonly MessageTag[];
  /** How long after the customer's last message the business may write freely; undefined: no window. */
  readonly messagingWindowHours?: number;
  /** The channel knows people by their phone number: a user id is the number's digits (WhatsApp's `wa_id`). */
  readonly usersByPhone?: boolean;
  /**
   * What may still reach the customer once the messaging window closed (channels with a window): approved
   * templates (WhatsApp), or message tags, each either any time or only within some hours of the customer's
   * last message (`human_agent`: 7 days, and only for accounts entitled to it). Absent: nothing.
   */
  readonly afterWindow?: {
    readonly templates: boolean;
    readonly tags: readonly { readonly tag: MessageTag; readonly withinHours?: number; readonly entitlement?: string }[];
  };
  /**
   * How the business writes first, with no reply handle of the customer's to answer: freely (Telegram, the Meta
   * channels inside their window), against a counted monthly quota (LINE push), or only through an API that
   * needs a credential of its own (KakaoTalk's Event API: `restApiKey`). Absent: freely.
   */
  readonly proactive?:
    | { readonly kind: 'free' }
    | { readonly kind: 'quota' }
    | { readonly kind: 'credential'; readonly credential: string };
  /**
   * The provider's send limits, which Parley's pacing stays within: calls per second per account (a bot, a
   * phone number, a page), with a burst, and per conversation where the provider limits that too (Telegram).
   */
  readonly throughput?: {
    readonly perSecond: number;
    readonly burst: number;
    readonly perConversation?: { readonly perSecond: number; readonly burst: number };
  };
  /** Inbound content types this connector produces. */
  readonly inboundTypes: readonly ContentType[];
}

/** Where an outbound message goes. */
export interface Recipient {
  readonly accountId: string;
  readonly conversation: ConversationRef;
  /**
   * The provider's one-time reply handle from the customer's last message, passed only while unexpired.
   * Single use: a sender that finds it spent falls back to its ordinary send.
   */
  readonly replyHandle?: ReplyHandle;
}

export interface SendRequest {
  /** Parley's id of the message: senders attach it where the provider echoes it back (Messenger `metadata`). */
  readonly messageId?: string;
  readonly content: OutboundContent;
  readonly recipient: Recipient;
  readonly replyTo?: { readonly externalMessageId: string };
  /** The message tag the integrator chose, already checked against the channel's capabilities. */
  readonly messageTag?: MessageTag;
  /**
   * Provider ids of the parts of this message already sent by an earlier attempt. A long text split in
   * three whose second part hit a rate limit resumes with the third.
   */
  readonly sentParts: readonly string[];
}

export interface SendContext {
  readonly credentials: Credentials;
  /** Scheme and host of the provider's API; paths stay the provider's. */
  readonly apiBaseUrl: string;
  readonly fetch: typeof globalThis.fetch;
  /** Called after each part the provider accepted, so progress survives a failure of a later part. */
  /**
   * `more`: whether parts of this message are still to be sent after this one (a sender that knows says
   * `false` for the last, which then needs no separate record: the send's result records it).
   */
  readonly onPartSent: (externalId: string, more?: boolean) => Promise<void>;
}

/**
 * Largest media object a download reads: the body is cut off past it, never read whole first. Telegram's
 * Bot API serves at most 20 MB; WhatsApp documents reach 100 MB.
 */
export const MAX_MEDIA_BYTES = 100 * 1024 * 1024;

/** One address a host name resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * How a media download reaches a host it does not trust: one named by a webhook body or by a provider's
 * answer rather than configured. The default (`connectors/safe-fetch.ts`) resolves through the system
 * resolver and connects with `node:https` to the checked addresses only; tests and fakes inject their own.
 */
export interface MediaNetwork {
  /** Every address `hostname` resolves to. */
  resolve(hostname: string): Promise<readonly ResolvedAddress[]>;
  /** A GET of `url` that connects to one of `addresses` (already checked) and to nothing else. */
  get(
    url: URL,
    init: { readonly headers: Readonly<Record<string, string>>; readonly signal: AbortSignal },
    addresses: readonly ResolvedAddress[],
  ): Promise<Response>;
}

/** What a media download needs: the account's credentials, the provider's API, and the network. */
export type DownloadContext = Pick<SendContext, 'credentials' | 'apiBaseUrl' | 'fetch'> & {
  /** Where URLs outside the provider's configured API go; the system's network when absent. */
  readonly network?: MediaNetwork;
};

/** What asking the provider which account credentials belong to needs: its API. */
export type AccountContext = Pick<SendContext, 'apiBaseUrl' | 'fetch'>;

export interface DownloadedMedia {
  readonly bytes: Buffer;
  /** The media type the provider served, when it named one. */
  readonly contentType?: string;
}

export interface SendResult {
  /** The provider's ids of every message sent, in order. */
  readonly externalIds: readonly string[];
}

export interface ChannelSender {
  readonly capabilities: ChannelCapabilities;
  /** Sends one message. Throws a {@link ProviderError} subclass on failure. */
  send(request: SendRequest, context: SendContext): Promise<SendResult>;
  /** Carries out a provider action a webhook asked for (see `provider.action.requested`). */
  perform(action: string, params: Readonly<Record<string, unknown>>, context: SendContext): Promise<void>;
}

export interface Connector<P = unknown> {
  readonly channel: Channel;
  /** The provider's API origin when no override is configured. */
  readonly defaultApiBaseUrl: string;
  /** Credential names, so the runtime and the stacks know what to ask for. */
  readonly credentialNames: CredentialNames;
  /**
   * Environment variables that configure the channel's default account (see the contract): one per
   * credential name, and the override of the provider's API origin.
   */
  readonly environment: {
    readonly credentials: Readonly<Record<string, string>>;
    readonly apiBaseUrl: string;
  };
  /** Fresh development credentials of the right shape, for the local runtime when none are configured. */
  devCredentials(): Credentials;
  /** The account id the credentials belong to, when they name it (a Telegram token names its bot). */
  accountIdOf(credentials: Credentials): string | undefined;
  /**
   * For credentials that do not name their account but can ask the provider which one they belong to (a LINE
   * channel access token: `GET /v2/bot/info` answers the bot's user id, which is what webhooks name as
   * `destination`). Undefined when these credentials cannot tell (no token). Throws a {@link ProviderError}
   * subclass when the provider could not answer. Callers cache the answer (see `domain/accounts.ts`).
   */
  resolveAccountId?(credentials: Credentials, context: AccountContext): Promise<string | undefined>;
  /** Answers a verification handshake (Meta's GET), or undefined when the request is not one. */
  handshake?(request: WebhookRequest, credentials: Credentials): WebhookAnswer | undefined;
  /** True when the request carries a valid signature or secret. Constant-time; never throws. */
  verify(request: WebhookRequest, credentials: Credentials): boolean;
  /**
   * The answer the provider expects once the events are accepted, for providers whose webhook answer
   * carries the reply (a KakaoTalk skill response). Default: `200 {"ok":true}`.
   */
  respond?(result: NormalizeResult, payload: P, credentials: Credentials): WebhookAnswer;
  /** Parses the raw body once verified. Never throws. */
  parse(rawBody: Buffer): ParseResult<P>;
  /** Pure: the events a payload means. Never throws for a parsed payload. */
  normalize(payload: P, context: NormalizeContext): NormalizeResult;
  readonly sender: ChannelSender;
  /**
   * Downloads inbound media a customer sent, for the media copier, before the provider's URL or id expires.
   * Throws a {@link ProviderError} subclass on failure (classified like the sender's). Absent for channels
   * whose media cannot be downloaded (KakaoTalk).
   */
  downloadMedia?(media: MediaRef, context: DownloadContext): Promise<DownloadedMedia>;
  /**
   * A stand-in for the provider's API, served by the local runtime under `/sandbox/<channel>` when the
   * channel runs on development credentials: it answers like the provider so replies reach `sent`.
   */
  readonly sandbox?: ProviderSandbox;
}

/**
 * What a channel's accounts are, apart from the protocol code: the credentials they need, where the
 * default account's come from, and the account id credentials name. The light part of a connector, for
 * functions that manage accounts without speaking the channel's protocol.
 */
export type ChannelAccount = Pick<
  Connector,
  'channel' | 'defaultApiBaseUrl' | 'credentialNames' | 'environment' | 'accountIdOf' | 'resolveAccountId'
>;

/**
 * What a channel's webhook function needs: its accounts and the inbound protocol (verify, parse, normalize,
 * the handshake and answer where the channel has them), without the sender, the media download, or what only
 * development uses (development credentials, the provider sandbox).
 */
export type InboundConnector<P = unknown> = ChannelAccount & Pick<Connector<P>, 'handshake' | 'verify' | 'respond' | 'parse' | 'normalize'>;

/** What a channel's sender function needs: its accounts and its sender, not the inbound protocol code. */
export type OutboundConnector = ChannelAccount & Pick<Connector, 'sender'>;

/** What a channel's media copier needs: its accounts and its media download. */
export type MediaConnector = ChannelAccount & Required<Pick<Connector, 'downloadMedia'>>;

export interface SandboxRequest {
  readonly method: string;
  /** The path below the sandbox's mount point, as the provider's API would see it. */
  readonly path: string;
  readonly body: Buffer;
}

export interface ProviderSandbox {
  /** A `Buffer` body is served as it is, with `contentType`; anything else as JSON. */
  handle(request: SandboxRequest): {
    readonly statusCode: number;
    readonly body: unknown;
    readonly contentType?: string;
    readonly summary: string;
  };
}

/** Renders quick replies that exceed a channel's limits as a numbered list appended to the text. */
export const quickRepliesAsText = (text: string, quickReplies: readonly QuickReply[]): string =>
  `${text}\n\n${quickReplies.map((q, i) => `${i + 1}. ${q.text}`).join('\n')}`;

/** True when every named credential is present and non-empty. */
export const hasCredentials = (credentials: Credentials | undefined, names: readonly string[]): credentials is Credentials =>
  credentials !== undefined && names.every((name) => (credentials[name] ?? '') !== '');
