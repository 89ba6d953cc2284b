/**
 * The small interfaces the domain needs from the outside world. AWS adapters (`adapters/aws/`) implement
 * them over the AWS SDK; local adapters (`adapters/local/`) implement them in-process for the local runtime
 * and tests. Nothing here knows which one it gets.
 */
import type { Channel } from './content.ts';
import type { ParleyEvent } from './events.ts';
import type { Author } from './model.ts';

/** The event bus. Resolves only when every event was accepted; otherwise throws. */
export interface EventBus {
  publish(events: readonly ParleyEvent[]): Promise<void>;
}

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
