import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Channel } from '../../domain/content.ts';
import { DEFAULT_ACCOUNT } from '../../domain/ingest.ts';
import { SecretNotWritableError } from '../../domain/errors.ts';
import type { Credentials, SecretLookup, SecretStore } from '../../domain/ports.ts';
import * as z from 'zod';

const CredentialsSchema = z.record(z.string(), z.string());

/**
 * Where the integrator API keeps the credentials it is given, below the store's prefix:
 * `<prefix>api/<channel>/<accountId>`. IAM lets the API create and replace only secrets under it
 * (lib/channel-secrets.ts), so an API key can never touch a secret DevOps made, whatever it is named.
 */
export const API_MANAGED_SEGMENT = 'api/';

const canonical = (credentials: Credentials): string => JSON.stringify(Object.entries(credentials).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Secrets kept per container; far more than the accounts of one deployment. */
const MAX_CACHED = 256;
/** Secrets remembered as missing per container, apart from the found ones, which they never evict. */
const MAX_MISSING = 256;
/** ListSecrets pages of the most names it returns at once. */
const LIST_PAGE_SIZE = 100;
/**
 * The most names of one channel kept from a listing (100 pages). A deployment with more accounts than that
 * reads the secret of an id beyond the listing, as without one, remembering it as missing for a while.
 */
const MAX_LISTED = 10_000;

export interface SecretsManagerStoreOptions {
  readonly client: SecretsManagerClient;
  /**
   * Secret names are `<prefix><channel>/<accountId>` (e.g. `parley/telegram/default`) when DevOps made them,
   * `<prefix>api/<channel>/<accountId>` when the integrator API did.
   */
  readonly prefix: string;
  /** The account id a channel's credentials name (a Telegram token names its bot), to match the default account. */
  readonly accountIdOf: (channel: Channel, credentials: Credentials) => string | undefined;
  /** How long a fetched secret is reused. Rotated values are picked up after this. */
  readonly ttlMs?: number;
  /**
   * How long a missing secret is remembered as missing: shorter, so an account whose credentials were just
   * put answers its provider's verification request within seconds.
   */
  readonly missingTtlMs?: number;
  /**
   * The least time between two listings of a channel's secret names. An id missing from a listing older than
   * this lists again (so an account added by another container or by DevOps is found within it); any other
   * missing id is answered from the listing, without a call.
   */
  readonly listIntervalMs?: number;
  readonly now?: () => number;
}

interface Listing {
  readonly names: ReadonlySet<string>;
  /** False when the channel has more secrets than {@link MAX_LISTED}: names beyond it are read to be known. */
  readonly complete: boolean;
  readonly listedAt: number;
}

/**
 * Channel credentials from Secrets Manager, fetched at first use and cached for a few minutes (a Lambda
 * container serves many webhooks; a rotated secret is picked up within the TTL). Values never reach the logs.
 *
 * Which accounts have a secret comes from `ListSecrets` filtered by the channel's name prefix, listed at most
 * once per {@link SecretsManagerStoreOptions.listIntervalMs} (30 s by default): webhook URLs carry account
 * ids anyone can make up, and an id that has no secret must cost no `GetSecretValue` per request, nor push
 * real credentials out of the cache. Found and missing secrets are cached apart for the same reason.
 *
 * The default account answers to `default` and to the id its credentials name, whatever secret else claims
 * that id. For sending only (not `ownOnly`), an account without a secret of its own is served by the default
 * account's secret when that names no account (a LINE channel secret does not say which bot it belongs to).
 */
export class SecretsManagerStore implements SecretStore {
  private readonly cache = new Map<string, { value: Credentials; expires: number }>();
  private readonly missing = new Map<string, number>();
  private readonly listings = new Map<Channel, Listing>();
  private readonly listing = new Map<Channel, Promise<Listing>>();
  private readonly ttlMs: number;
  private readonly missingTtlMs: number;
  private readonly listIntervalMs: number;
  private readonly now: () => number;
  constructor(private readonly options: SecretsManagerStoreOptions) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.missingTtlMs = options.missingTtlMs ?? 30_000;
    this.listIntervalMs = options.listIntervalMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  async get(channel: Channel, accountId: string, options: SecretLookup = {}): Promise<Credentials | undefined> {
    const fallback = await this.fetch(this.nameOf(channel, DEFAULT_ACCOUNT));
    if (accountId === DEFAULT_ACCOUNT) return fallback;
    const named = fallback === undefined ? undefined : this.options.accountIdOf(channel, fallback);
    // The default account answers to the id its credentials name, whatever secret else claims that id.
    if (fallback && named === accountId) return fallback;
    // DevOps' secret of the account first, then the one put through the API.
    for (const name of [this.nameOf(channel, accountId), this.managedNameOf(channel, accountId)]) {
      const own = (await this.mayExist(channel, name)) ? await this.fetch(name) : undefined;
      if (own) return own;
    }
    return !options.ownOnly && fallback && named === undefined ? fallback : undefined;
  }

  /**
   * Replaces the credentials the API keeps for the account, creating their secret the first time. Refuses
   * an account whose secret DevOps made (theirs always wins when both exist) and the default account, which
   * are theirs to change. Writes nothing when the value is unchanged: every write is a new secret version,
   * and clients that register their accounts at each start would pile them up.
   */
  async put(channel: Channel, accountId: string, credentials: Credentials): Promise<void> {
    const devops = this.nameOf(channel, accountId);
    if (accountId === DEFAULT_ACCOUNT) throw new SecretNotWritableError(devops);
    const value = CredentialsSchema.parse(credentials);
    const name = this.managedNameOf(channel, accountId);
    this.written(channel, name);
    this.cache.delete(devops);
    this.missing.delete(devops);
    if ((await this.mayExist(channel, devops)) && (await this.fetch(devops))) throw new SecretNotWritableError(devops);
    const current = await this.fetch(name);
    if (current && canonical(current) === canonical(value)) return;
    const secretString = JSON.stringify(value);
    try {
      if (current) await this.options.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretString }));
      else await this.create(name, channel, accountId, secretString);
    } catch (error) {
      // IAM keeps the API to its own prefix: a denial means the deployment's policy says no.
      if (error instanceof Error && error.name === 'AccessDeniedException') throw new SecretNotWritableError(name);
      throw error;
    }
    this.written(channel, name);
  }

  private async create(name: string, channel: Channel, accountId: string, secretString: string): Promise<void> {
    try {
      await this.options.client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: secretString,
          Description: `Parley ${channel} credentials of account ${accountId}, put through the integrator API`,
        }),
      );
    } catch (error) {
      // A concurrent put created it first: the last value wins, as with two puts.
      if (!(error instanceof ResourceExistsException)) throw error;
      await this.options.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretString }));
    }
  }

  private nameOf(channel: Channel, accountId: string): string {
    return `${this.options.prefix}${channel}/${accountId}`;
  }

  private managedNameOf(channel: Channel, accountId: string): string {
    return `${this.options.prefix}${API_MANAGED_SEGMENT}${channel}/${accountId}`;
  }

  /** False only when a listing says the secret does not exist. */
  private async mayExist(channel: Channel, name: string): Promise<boolean> {
    let listing = this.listings.get(channel) ?? (await this.list(channel));
    if (listing.names.has(name)) return true;
    // Not listed: list again if the listing may be out of date, at most once per interval however many ids.
    if (this.now() - listing.listedAt >= this.listIntervalMs) listing = await this.list(channel);
    return listing.names.has(name) || !listing.complete;
  }

  /** Lists the channel's secret names; concurrent callers share one listing. */
  private list(channel: Channel): Promise<Listing> {
    let pending = this.listing.get(channel);
    if (!pending) {
      pending = this.listNames(channel).finally(() => this.listing.delete(channel));
      this.listing.set(channel, pending);
    }
    return pending;
  }

  /** DevOps' names and the API's, one filtered listing each (a filter's values are not documented to be ORed). */
  private async listNames(channel: Channel): Promise<Listing> {
    const names = new Set<string>();
    let complete = true;
    for (const prefix of [this.nameOf(channel, ''), this.managedNameOf(channel, '')]) {
      if (names.size >= MAX_LISTED) {
        complete = false;
        break;
      }
      let nextToken: string | undefined;
      do {
        const page = await this.options.client.send(
          new ListSecretsCommand({
            // `name` is a case-sensitive prefix match; names are still compared whole below.
            Filters: [{ Key: 'name', Values: [prefix] }],
            MaxResults: LIST_PAGE_SIZE,
            ...(nextToken !== undefined && { NextToken: nextToken }),
          }),
        );
        for (const secret of page.SecretList ?? []) if (secret.Name?.startsWith(prefix)) names.add(secret.Name);
        nextToken = page.NextToken;
      } while (nextToken !== undefined && names.size < MAX_LISTED);
      complete &&= nextToken === undefined;
    }
    const listing: Listing = { names, complete, listedAt: this.now() };
    this.listings.set(channel, listing);
    return listing;
  }

  private async fetch(name: string): Promise<Credentials | undefined> {
    const hit = this.cache.get(name);
    if (hit && hit.expires > this.now()) return hit.value;
    const missingUntil = this.missing.get(name);
    if (missingUntil !== undefined && missingUntil > this.now()) return undefined;
    let value: Credentials | undefined;
    try {
      const answer = await this.options.client.send(new GetSecretValueCommand({ SecretId: name }));
      const parsed = CredentialsSchema.safeParse(JSON.parse(answer.SecretString ?? 'null'));
      if (!parsed.success) throw new Error(`secret ${name} is not a JSON object of strings`);
      value = parsed.data;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      value = undefined;
    }
    // Each map bounded apart, the oldest entry going first (a Map keeps insertion order): ids without a
    // secret, however many, never push out credentials that exist.
    if (value === undefined) {
      this.cache.delete(name);
      remember(this.missing, name, this.now() + this.missingTtlMs, MAX_MISSING);
    } else {
      this.missing.delete(name);
      remember(this.cache, name, { value, expires: this.now() + this.ttlMs }, MAX_CACHED);
    }
    return value;
  }

  /** Forgets what is cached of a secret just written, and lists it, so this container sees it at once. */
  private written(channel: Channel, name: string): void {
    this.cache.delete(name);
    this.missing.delete(name);
    const listing = this.listings.get(channel);
    if (listing && !listing.names.has(name)) this.listings.set(channel, { ...listing, names: new Set([...listing.names, name]) });
  }
}

const remember = <V>(map: Map<string, V>, key: string, value: V, max: number): void => {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value ?? '');
  map.set(key, value);
};
