import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Channel } from '../../domain/content.ts';
import { DEFAULT_ACCOUNT } from '../../domain/ingest.ts';
import { SecretNotWritableError } from '../../domain/errors.ts';
import type { Credentials, SecretStore } from '../../domain/ports.ts';
import * as z from 'zod';

const CredentialsSchema = z.record(z.string(), z.string());

/** Marks the secrets the integrator API created, the only ones IAM lets it replace (lib/channel-secrets.ts). */
export const API_MANAGED_TAG = { Key: 'parley:managed-by', Value: 'integrator-api' } as const;

const canonical = (credentials: Credentials): string => JSON.stringify(Object.entries(credentials).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Secrets kept per container; far more than the accounts of one deployment. */
const MAX_CACHED = 256;

export interface SecretsManagerStoreOptions {
  readonly client: SecretsManagerClient;
  /** Secret names are `<prefix><channel>/<accountId>`, e.g. `parley/telegram/default`. */
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
  readonly now?: () => number;
}

/**
 * Channel credentials from Secrets Manager, fetched at first use and cached for a few minutes (a Lambda
 * container serves many webhooks; a rotated secret is picked up within the TTL). An account without a
 * secret of its own is served by the default account's secret when that secret names it or names none.
 * Values never reach the logs.
 */
export class SecretsManagerStore implements SecretStore {
  private readonly cache = new Map<string, { value: Credentials | undefined; expires: number }>();
  private readonly ttlMs: number;
  private readonly missingTtlMs: number;
  private readonly now: () => number;
  constructor(private readonly options: SecretsManagerStoreOptions) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.missingTtlMs = options.missingTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  async get(channel: Channel, accountId: string): Promise<Credentials | undefined> {
    const fallback = await this.fetch(`${this.options.prefix}${channel}/${DEFAULT_ACCOUNT}`);
    if (accountId === DEFAULT_ACCOUNT) return fallback;
    const named = fallback === undefined ? undefined : this.options.accountIdOf(channel, fallback);
    // The default account answers to the id its credentials name, whatever secret else claims that id.
    if (fallback && named === accountId) return fallback;
    const own = await this.fetch(`${this.options.prefix}${channel}/${accountId}`);
    if (own) return own;
    // An account without a secret of its own is the default account's when the default names no account at
    // all (a LINE channel secret does not say which bot it belongs to).
    return fallback && named === undefined ? fallback : undefined;
  }

  /**
   * Replaces the account's secret, creating it the first time (tagged {@link API_MANAGED_TAG}, which IAM requires
   * to replace it later). Writes nothing when the value is unchanged: every write is a new secret version,
   * and clients that register their accounts at each start would pile them up.
   */
  async put(channel: Channel, accountId: string, credentials: Credentials): Promise<void> {
    const name = `${this.options.prefix}${channel}/${accountId}`;
    const value = CredentialsSchema.parse(credentials);
    this.cache.delete(name);
    const current = await this.fetch(name);
    if (current && canonical(current) === canonical(value)) return;
    const secretString = JSON.stringify(value);
    try {
      if (current) await this.options.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretString }));
      else await this.create(name, channel, accountId, secretString);
    } catch (error) {
      // Not ours to replace: created by DevOps without the tag, or the default account's.
      if (error instanceof Error && error.name === 'AccessDeniedException') throw new SecretNotWritableError(name);
      throw error;
    }
    this.cache.delete(name);
  }

  private async create(name: string, channel: Channel, accountId: string, secretString: string): Promise<void> {
    try {
      await this.options.client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: secretString,
          Description: `Parley ${channel} credentials of account ${accountId}, put through the integrator API`,
          Tags: [API_MANAGED_TAG],
        }),
      );
    } catch (error) {
      // A concurrent put created it first: the last value wins, as with two puts.
      if (!(error instanceof ResourceExistsException)) throw error;
      await this.options.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretString }));
    }
  }

  private async fetch(name: string): Promise<Credentials | undefined> {
    const hit = this.cache.get(name);
    if (hit && hit.expires > this.now()) return hit.value;
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
    // Bounded: the oldest entry goes first (Map keeps insertion order).
    this.cache.delete(name);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value ?? '');
    this.cache.set(name, { value, expires: this.now() + (value === undefined ? this.missingTtlMs : this.ttlMs) });
    return value;
  }
}
