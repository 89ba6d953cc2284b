/**
 * The small interfaces the domain needs from the outside world. AWS adapters (`adapters/aws/`) implement
 * them over the AWS SDK; local adapters (`adapters/local/`) implement them in-process for the local runtime
 * and tests. Nothing here knows which one it gets.
 */
import type { Channel, Content } from './content.ts';
import type { ConversationRef, ParleyEvent } from './events.ts';
import type { Account, Author, ChannelRoute, Failure, MediaCopy, Message, MessageStatus, Thread } from './model.ts';

/** One page of a listing; `nextCursor` is opaque and present only when there is more. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

/** A channel identity: one person (or group) on one account of one channel, tied to a contact. */
export interface Identity {
  readonly channel: Channel;
  readonly accountId: string;
  readonly externalId: string;
  readonly contactId: string;
  readonly kind: ConversationRef['kind'];
  readonly displayName?: string;
  readonly unreachable?: { readonly reason: string; readonly since: string };
}

export interface IdentityInput {
  readonly channel: Channel;
  readonly accountId: string;
  readonly externalId: string;
  readonly kind: ConversationRef['kind'];
  readonly displayName?: string;
}

/** A message as written by the thread writer or the API. */
export type NewMessage = Message;

export interface InsertResult {
  /** False when a message with the same provider id was already stored: the stored one is returned. */
  readonly inserted: boolean;
  readonly message: Message;
}

export interface StatusChange {
  readonly status: Exclude<MessageStatus, 'received'>;
  readonly at: string;
  readonly externalIds?: readonly string[];
  readonly failure?: Failure;
  /** Apply only while the message is still `queued` (the API's "could not be queued" must not undo a send). */
  readonly onlyIfQueued?: boolean;
}

/** A sender's exclusive right to send one queued message, until `until`. */
export interface SendingClaim {
  /** Identifies the holder (the queue's receipt handle): the same holder may claim again. */
  readonly token: string;
  readonly until: string;
  readonly now: string;
}

export type ClaimResult = 'claimed' | 'held-elsewhere' | 'not-queued';

/** Thread storage. Every method is safe to repeat: retries and redeliveries change nothing twice. */
export interface ThreadStore {
  /** The identity for this channel account and external id, created with a new contact if missing. */
  ensureIdentity(input: IdentityInput, now: string): Promise<Identity>;
  getIdentity(channel: Channel, accountId: string, externalId: string): Promise<Identity | undefined>;
  markIdentityUnreachable(channel: Channel, accountId: string, externalId: string, reason: string, at: string): Promise<void>;
  /** Clears an unreachable mark set before `at` (the customer wrote again, so they can be reached). */
  markIdentityReachable(channel: Channel, accountId: string, externalId: string, at: string): Promise<void>;

  /**
   * The contact's thread, opened if the contact has none and reopened if it was resolved: a customer who
   * writes again continues the same thread, with its whole history.
   */
  ensureOpenThread(contactId: string, now: string): Promise<Thread>;
  getThread(threadId: string): Promise<Thread | undefined>;
  /** Threads in which this channel identity wrote, newest first. Throws `InvalidCursorError` (domain/errors.ts) for a cursor it did not produce. */
  listThreadsByParticipant(channel: Channel, externalUserId: string, limit: number, cursor?: string): Promise<Page<Thread>>;
  /** Records a message's arrival on the thread: route for replies, channels seen, last activity. */
  recordActivity(threadId: string, activity: ThreadActivity): Promise<void>;

  /**
   * Stores a message once. Inbound messages are keyed by (channel, account, externalId): a second insert
   * with the same key returns the first. Outbound messages are keyed by their id.
   */
  insertMessage(message: NewMessage): Promise<InsertResult>;
  getMessage(threadId: string, messageId: string): Promise<Message | undefined>;
  findMessageByExternalId(channel: Channel, accountId: string, externalId: string): Promise<Message | undefined>;
  /** Messages of a thread, oldest first. Throws `InvalidCursorError` (domain/errors.ts) for a cursor it did not produce. */
  listMessages(threadId: string, limit: number, cursor?: string): Promise<Page<Message>>;
  /** Replaces a message's content if `editedAt` is later than its last edit; false when it was not. */
  editMessage(threadId: string, messageId: string, content: Content, editedAt: string): Promise<boolean>;
  /**
   * Moves a message's status forward only (queued → sent → delivered → read; failed from queued or sent).
   * Returns false, changing nothing, when the message is already at or past that status.
   */
  advanceStatus(threadId: string, messageId: string, change: StatusChange): Promise<boolean>;
  /**
   * Claims a queued message for sending, so two deliveries of one job (SQS delivers at least once) cannot
   * both send it. A claim lapses at `until`, so a sender that crashed does not block the message forever.
   */
  claimForSending(threadId: string, messageId: string, claim: SendingClaim): Promise<ClaimResult>;
  /** Gives a claim up early (the send failed and will be retried by whoever receives the job next). */
  releaseSendingClaim(threadId: string, messageId: string, token: string): Promise<void>;
  /** Records provider ids of parts already sent, so a retried send resumes after them. */
  recordSentParts(threadId: string, messageId: string, externalIds: readonly string[]): Promise<void>;
  /**
   * Records that the message's media was copied into Parley's storage. False, changing nothing, when the
   * message does not exist or already records a copy under the same key.
   */
  recordMediaCopy(threadId: string, messageId: string, copy: MediaCopy): Promise<boolean>;

  /** Looks up an integrator API key by the SHA-256 of its secret. */
  findApiKey(keyHash: string): Promise<ApiKeyRecord | undefined>;
  putApiKey(record: ApiKeyRecord): Promise<void>;

  /**
   * Registers a channel account. Registering it again changes only its name (when `record` has one): the
   * first `createdAt` stays. Returns the account as stored.
   */
  putAccount(record: Account): Promise<Account>;
  /** Registered accounts, of one channel or of all, ordered by channel and account id. */
  listAccounts(channel?: Channel): Promise<Account[]>;

  /**
   * Claims an idempotency key once, atomically: the first caller stores `record` and gets
   * `{ claimed: true }`; every later caller, until `expiresAt` (ISO 8601), gets the stored record back.
   * A record past `expiresAt` counts as absent even before a TTL sweep removed it.
   * @param scope whose keys these are (the API key id), so two integrators' keys never collide
   */
  claimIdempotencyKey(scope: string, key: string, record: IdempotencyRecord, expiresAt: string): Promise<IdempotencyClaim>;
}

/** What an idempotency key stands for: the message a request created, and a hash of that request. */
export interface IdempotencyRecord {
  readonly threadId: string;
  readonly messageId: string;
  /** Hash of the request the key was first used with; a reuse with another request is refused. */
  readonly requestHash: string;
}

export type IdempotencyClaim = { readonly claimed: true } | { readonly claimed: false; readonly existing: IdempotencyRecord };

export interface ThreadActivity {
  readonly route?: ChannelRoute;
  readonly channel: Channel;
  readonly at: string;
  readonly participant?: { readonly externalUserId: string };
  readonly direction: Message['direction'];
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly keyHash: string;
  readonly name: string;
  readonly createdAt: string;
}

/** The event bus. Resolves only when every event was accepted; otherwise throws. */
export interface EventBus {
  publish(events: readonly ParleyEvent[]): Promise<void>;
}

/** A message of a channel's outbound queue. */
export type OutboundJob =
  | { readonly kind: 'deliver'; readonly channel: Channel; readonly threadId: string; readonly messageId: string }
  | { readonly kind: 'action'; readonly event: Extract<ParleyEvent, { type: 'provider.action.requested' }> };

/** The channel whose sender handles a job, so it goes to that channel's queue. */
export const channelOfJob = (job: OutboundJob): Channel => (job.kind === 'deliver' ? job.channel : job.event.channel);

/** A work queue (SQS in AWS). */
export interface WorkQueue<T> {
  send(message: T, options?: { readonly delaySeconds?: number }): Promise<void>;
}

/** Bytes with their media type, as stored and served. */
export interface MediaObject {
  readonly bytes: Buffer;
  readonly contentType: string;
}

/**
 * Parley's own media storage: S3 in AWS, files under the data dir locally. Keys are `/`-separated paths
 * made by `mediaKeyOf` (domain/media.ts); writing a key again replaces its object.
 */
export interface MediaStore {
  put(key: string, bytes: Buffer, options: { readonly contentType: string }): Promise<void>;
  /** The object, or undefined when there is none under the key. */
  get(key: string): Promise<MediaObject | undefined>;
  /** The object's type and size without its bytes, or undefined when there is none (a retried copy need not download again). */
  head(key: string): Promise<{ readonly contentType: string; readonly size: number } | undefined>;
  /** Deletes the object (erasure); deleting one that is not there is fine. */
  delete(key: string): Promise<void>;
  /**
   * A URL the object can be downloaded from without further credentials, for the given time, served with
   * `contentDisposition`; absent where the store cannot issue one (then media is served inline only).
   */
  downloadUrl?(key: string, options: { readonly expiresInSeconds: number; readonly contentDisposition: string }): Promise<string>;
}

/** Channel credentials for one account, as a flat record of the connector's own names. */
export type Credentials = Readonly<Record<string, string>>;

export interface SecretLookup {
  /** Only the account's own credentials, never the default account's in its stead. */
  readonly ownOnly?: boolean;
}

/**
 * Where channel secrets live: Secrets Manager in AWS, the environment and the data dir locally. Both
 * readers answer an account id that has no secret without reading one (the store knows which accounts have
 * a secret), and such an id never evicts cached credentials: webhook URLs carry ids anyone can make up.
 */
export interface SecretStore {
  /**
   * An account's credentials, or undefined when it has none. By default, the credentials it sends and
   * downloads media with: its own, or, for an account without a secret of its own, the default account's when
   * those name no account at all. That is how the threads of a LINE default account, kept under the bot user
   * id its channel secret does not name, find their credentials. With `ownOnly`, as the webhook path asks
   * (an event's account must be the verifying credentials' own), exactly this account's: the default
   * account's for `default` and for the id they name (whatever secret else claims that id), the account's
   * own secret otherwise.
   */
  get(channel: Channel, accountId: string, options?: SecretLookup): Promise<Credentials | undefined>;
  /**
   * Stores an account's own credentials, replacing any it had; readers of the same store see them at once,
   * other Lambda containers within their cache's time.
   */
  put(channel: Channel, accountId: string, credentials: Credentials): Promise<void>;
}

/** Lets a queue consumer postpone a message it failed (backoff, a provider's retry-after). */
export interface VisibilityControl {
  setVisibilityTimeout(receiptHandle: string, seconds: number): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Structured logging; the Powertools logger fits it. Never pass secrets or full bodies in `extra`. */
export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export type { Author };
