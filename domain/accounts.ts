/**
 * Which account a channel's credentials serve. An event may only land in the account whose credentials
 * verified it (`domain/ingest.ts`), so the webhook path has to know that account's id: the one the
 * credentials name (a Telegram token names its bot, WhatsApp credentials their phone number id), or, for
 * credentials that name none but can ask (a LINE access token), the one the provider answers, cached here.
 */
import { createHash } from 'node:crypto';
import type { ChannelAccount, Credentials } from './connector.ts';
import type { Channel } from './content.ts';
import type { Log, SecretStore } from './ports.ts';
import { ProviderError, RateLimitedError, RetryableProviderError } from './provider-errors.ts';

/** The account a channel's default credentials serve when a webhook or reply names none. */
export const DEFAULT_ACCOUNT = 'default';

export interface AccountResolverOptions {
  readonly fetch: typeof globalThis.fetch;
  /** Overrides of each provider's API origin (sandboxes, tests); otherwise the connector's default. */
  readonly apiBaseUrls: Partial<Record<Channel, string>>;
  readonly log?: Log;
  readonly now?: () => number;
}

/** Credentials whose account was asked about, per container: far more than the accounts of one deployment. */
const MAX_CACHED = 256;
/**
 * How long "the provider refused these credentials" is remembered: the webhook does not ask again for each
 * request while a token is wrong, and a fixed token is picked up within a minute.
 */
const REFUSED_TTL_MS = 60_000;

interface Cached {
  readonly id: string | undefined;
  /** Infinity for an answer: the bot a token belongs to never changes (a new token is a new cache key). */
  readonly expires: number;
}

/**
 * Learns and caches the account ids credentials belong to. One per composition root (a Lambda container, the
 * local runtime): the provider is asked once per set of credentials, and concurrent webhooks share the one
 * question in flight.
 */
export class AccountResolver {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<string | undefined>>();
  private readonly now: () => number;

  constructor(private readonly options: AccountResolverOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The account id the credentials belong to: the one they name, else the one the provider answers for them,
   * else undefined (they cannot tell: no token, or the provider refuses it, which is logged). Throws a
   * retryable {@link ProviderError} when the provider could not answer now, so a webhook asks its provider to
   * deliver again rather than guessing.
   */
  async idOf(account: ChannelAccount, credentials: Credentials): Promise<string | undefined> {
    const named = account.accountIdOf(credentials);
    if (named !== undefined || account.resolveAccountId === undefined) return named;
    const apiBaseUrl = this.options.apiBaseUrls[account.channel] ?? account.defaultApiBaseUrl;
    const key = cacheKey(account.channel, apiBaseUrl, credentials);
    const hit = this.cache.get(key);
    if (hit && hit.expires > this.now()) return hit.id;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const asked = this.ask(account, credentials, apiBaseUrl, key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, asked);
    return asked;
  }

  private async ask(account: ChannelAccount, credentials: Credentials, apiBaseUrl: string, key: string): Promise<string | undefined> {
    let id: string | undefined;
    let expires = Number.POSITIVE_INFINITY;
    try {
      id = await account.resolveAccountId?.(credentials, { apiBaseUrl, fetch: this.options.fetch });
    } catch (error) {
      if (error instanceof RetryableProviderError || error instanceof RateLimitedError || !(error instanceof ProviderError)) throw error;
      // Refused (a revoked token, say): no retry makes it good, so the credentials cannot tell for now.
      this.options.log?.warn('the provider refused to say which account these credentials belong to', {
        channel: account.channel,
        error: error.message,
      });
      id = undefined;
      expires = this.now() + REFUSED_TTL_MS;
    }
    // Bounded: the oldest entry goes first (Map keeps insertion order).
    this.cache.delete(key);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value ?? '');
    this.cache.set(key, { id, expires });
    return id;
  }
}

/** Never the credentials themselves: a digest of them, with the channel and the API they were asked at. */
const cacheKey = (channel: Channel, apiBaseUrl: string, credentials: Credentials): string => {
  const canonical = JSON.stringify(Object.entries(credentials).sort(([a], [b]) => (a < b ? -1 : 1)));
  return `${channel}\u0000${apiBaseUrl}\u0000${createHash('sha256').update(canonical).digest('base64url')}`;
};

/**
 * The ids under which a channel's default account receives events and sends replies: `default`, and the id
 * its credentials name or the provider answers for them (a LINE bot's user id). Registering any of them as
 * another account would hand that account's credentials the default account's inbound or replies, so the
 * integrator API refuses to:
 *
 * ```ts
 * const taken = await defaultAccountIds(deps.account(channel), { secrets: deps.secrets, accounts });
 * if (taken.includes(accountId)) throw new ApiError('invalid_request', …);
 * ```
 *
 * Throws a retryable provider error when the provider could not say (answer 503: try again).
 */
export const defaultAccountIds = async (
  account: ChannelAccount,
  deps: { readonly secrets: SecretStore; readonly accounts: AccountResolver },
): Promise<readonly string[]> => {
  const credentials = await deps.secrets.get(account.channel, DEFAULT_ACCOUNT, { ownOnly: true });
  const id = credentials === undefined ? undefined : await deps.accounts.idOf(account, credentials);
  return id === undefined || id === DEFAULT_ACCOUNT ? [DEFAULT_ACCOUNT] : [DEFAULT_ACCOUNT, id];
};
