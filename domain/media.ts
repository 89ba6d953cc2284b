/**
 * Copies the media customers send into Parley's own storage, because providers' links do not last
 * (WhatsApp's media URL expires within minutes of being asked for; LINE keeps content for a limited time).
 * Runs from the media queue, beside the thread writer: the message may not be stored yet when its copy is
 * made, so the copy is stored first and recorded on the message once the message exists.
 * Idempotent: one media object always has the same key, and a copy already stored is not downloaded again.
 */
import { createHash } from 'node:crypto';
import { hasCredentials, MAX_MEDIA_BYTES, type MediaConnector, type MediaNetwork, type DownloadedMedia } from './connector.ts';
import { MEDIA_CONTENT_TYPES, type Channel, type Content, type MediaRef } from './content.ts';
import type { MessageReceivedEvent } from './events.ts';
import type { Failure, MediaCopy } from './model.ts';
import { decide } from './delivery/retry.ts';
import type { ConversationStore } from './conversations/ports.ts';
import { retryOnConflict } from './shared/store.ts';
import type { Clock, Log, MediaStore, SecretStore } from './ports.ts';
import { ProviderError, RateLimitedError } from './provider-errors.ts';

export { MAX_MEDIA_BYTES, MEDIA_CONTENT_TYPES };

/** Served when neither the provider nor the reference names a media type. */
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export interface MediaDeps {
  readonly store: ConversationStore;
  readonly media: MediaStore;
  readonly secrets: SecretStore;
  readonly clock: Clock;
  readonly log: Log;
  readonly fetch: typeof globalThis.fetch;
  /** How downloads reach hosts other than the provider's configured API; the system's when absent. */
  readonly network?: MediaNetwork;
  readonly apiBaseUrls: Partial<Record<Channel, string>>;
  readonly connectorFor: (
    channel: Channel,
  ) => (Pick<MediaConnector, 'credentialNames' | 'defaultApiBaseUrl'> & Partial<Pick<MediaConnector, 'downloadMedia'>>) | undefined;
}

/** Which attempt this is, as the queue counts them. */
export interface MediaAttempt {
  readonly receiveCount: number;
  readonly maxReceiveCount: number;
}

export type CopyOutcome =
  | { readonly kind: 'skipped'; readonly reason: string }
  | { readonly kind: 'copied'; readonly key: string; readonly downloaded: boolean }
  | { readonly kind: 'already'; readonly key: string }
  /** Try again after `delaySeconds` (provider failure, or the message is not stored yet). */
  | { readonly kind: 'retry'; readonly delaySeconds: number; readonly failure: Failure }
  /** Will never succeed (gone at the provider, refused credentials): logged, not retried. */
  | { readonly kind: 'failed'; readonly failure: Failure }
  /** Retries used up: the job goes to the dead-letter queue for inspection and redrive. */
  | { readonly kind: 'exhausted'; readonly failure: Failure };

/** The media reference of a content, when it has one. */
export const mediaOf = (content: Content): MediaRef | undefined => {
  switch (content.type) {
    case 'image':
    case 'audio':
    case 'video':
    case 'file':
    case 'sticker':
      return content.media;
    case 'text':
    case 'location':
    case 'contact':
    case 'reply':
    case 'reaction':
    case 'unsupported':
      return undefined;
  }
};

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A key segment as it is when it is plainly safe (digits, letters, `_-`), else its hash. */
const segment = (value: string): string => (/^[A-Za-z0-9_-]{1,64}$/.test(value) ? value : sha256(value).slice(0, 32));

/**
 * Where one provider media object is stored: `<channel>/<account>/<sha-256 of its id, or of its URL>`.
 * The same object always gets the same key, so a repeated copy replaces it with the same bytes; ids and
 * URLs are hashed, so nothing a provider sends can shape the path.
 */
export const mediaKeyOf = (channel: Channel, accountId: string, media: MediaRef): string =>
  `${channel}/${segment(accountId)}/${sha256(media.id !== undefined ? `id:${media.id}` : `url:${media.url ?? ''}`)}`;

/** The provider's media type, unless it only said "bytes" and the reference knows better. */
const contentTypeOf = (served: string | undefined, media: MediaRef): string => {
  const provider = served?.split(';')[0]?.trim();
  if (provider && provider !== DEFAULT_CONTENT_TYPE) return served ?? provider;
  return media.mimeType ?? provider ?? DEFAULT_CONTENT_TYPE;
};

const failureOf = (error: unknown, attempts: number): Failure =>
  error instanceof ProviderError
    ? error.toFailure(attempts)
    : { kind: 'retryable', message: error instanceof Error ? error.message : String(error), attempts };

/** Retry what may succeed later, until the queue's receive count runs out; give up on the rest at once. */
const retryOrGiveUp = (failure: Failure, attempt: MediaAttempt, retryAfterSeconds?: number): CopyOutcome =>
  decide(failure, attempt, retryAfterSeconds);

/** Copies the media of one received message, when it has any, and records the copy on the message. */
export const copyMedia = async (event: MessageReceivedEvent, attempt: MediaAttempt, deps: MediaDeps): Promise<CopyOutcome> => {
  const media = mediaOf(event.content);
  if (!media) return { kind: 'skipped', reason: `${event.content.type} content has no media` };
  const connector = deps.connectorFor(event.channel);
  if (!connector?.downloadMedia) return { kind: 'skipped', reason: `${event.channel} media cannot be downloaded` };
  const key = mediaKeyOf(event.channel, event.accountId, media);

  const pointer = await deps.store.getPointer(event.channel, event.accountId, event.externalMessageId);
  const message = pointer && (await deps.store.getMessage(pointer.threadId, pointer.messageId))?.value;
  if (message?.mediaCopy?.key === key) return { kind: 'already', key };

  // A copy stored by an earlier attempt (whose message was not stored yet) is not downloaded again.
  let stored = await deps.media.head(key);
  const downloaded = stored === undefined;
  if (!stored) {
    const credentials = await deps.secrets.get(event.channel, event.accountId);
    if (!hasCredentials(credentials, connector.credentialNames.outbound)) {
      const missing = connector.credentialNames.outbound.join(', ');
      return {
        kind: 'failed',
        failure: { kind: 'authentication', message: `${event.channel} account ${event.accountId} has no ${missing} configured` },
      };
    }
    let object: DownloadedMedia;
    try {
      object = await connector.downloadMedia(media, {
        credentials,
        apiBaseUrl: deps.apiBaseUrls[event.channel] ?? connector.defaultApiBaseUrl,
        fetch: deps.fetch,
        ...(deps.network && { network: deps.network }),
      });
    } catch (error) {
      return retryOrGiveUp(
        failureOf(error, attempt.receiveCount),
        attempt,
        error instanceof RateLimitedError ? error.retryAfterSeconds : undefined,
      );
    }
    if (object.bytes.length > MAX_MEDIA_BYTES) {
      return {
        kind: 'failed',
        failure: { kind: 'permanent', message: `the media is over ${MAX_MEDIA_BYTES} bytes (${object.bytes.length})` },
      };
    }
    const contentType = contentTypeOf(object.contentType, media);
    await deps.media.put(key, object.bytes, { contentType });
    stored = { contentType, size: object.bytes.length };
  }

  if (!message) {
    // The thread writer has not stored the message yet (it reads the same event from its own queue).
    return retryOrGiveUp({ kind: 'retryable', message: 'the message is not stored yet', attempts: attempt.receiveCount }, attempt);
  }
  const copy: MediaCopy = { key, contentType: stored.contentType, size: stored.size, copiedAt: deps.clock.now().toISOString() };
  // A copy under the same key is recorded once; the content (edits) is left as it is.
  await retryOnConflict(async () => {
    const current = await deps.store.getMessage(message.threadId, message.id);
    if (!current || current.value.mediaCopy?.key === key) return;
    await deps.store.commit([{ kind: 'message', op: 'put', value: { ...current.value, mediaCopy: copy }, version: current.version }]);
  });
  return { kind: 'copied', key, downloaded };
};
