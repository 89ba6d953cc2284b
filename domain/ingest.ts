/**
 * The webhook path shared by every channel: size limit, credentials, handshake, verification on the raw
 * bytes, parsing, normalization, the account check, and publication. The provider gets its 200 only once
 * the bus has accepted every event; anything short of that is a 5xx so the provider retries.
 *
 * An event lands only in an account whose own credentials verified the request. The verifying credentials
 * serve one account: the one they name or the provider answers for them (`domain/accounts.ts`), else the
 * account the URL names (`default` without one); `normalize` is given it. An event a body attributes to
 * another account (a WhatsApp `phone_number_id`, a Meta `recipient.id`) is kept only when that account's own
 * credentials verify the same request too (one Meta app serves several numbers and Pages through one
 * callback URL, signing with the one app secret); otherwise it is dropped with a warning, and the provider
 * still gets its 200 for the rest, since it would retry a 4xx forever.
 */
import { DEFAULT_ACCOUNT, type AccountResolver } from './accounts.ts';
import { hasCredentials, type Credentials, type InboundConnector, type WebhookAnswer, type WebhookRequest } from './connector.ts';
import type { ParleyEvent } from './events.ts';
import type { Clock, EventBus, Log, SecretStore } from './ports.ts';

export interface IngestDeps {
  readonly secrets: SecretStore;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly log: Log;
  /** Learns the account of credentials that do not name it (a LINE bot's user id), cached. */
  readonly accounts: AccountResolver;
}

export interface IngestOptions {
  readonly maxBodyBytes: number;
  /** The account named in the path, or undefined for the channel's default account. */
  readonly accountId?: string;
}

export { DEFAULT_ACCOUNT };

/** What a provider's account id looks like (bot ids, phone number ids, page ids, LINE user ids). */
const ACCOUNT_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * What an account without credentials is checked with: verify and the handshake refuse it as they refuse a
 * wrong secret, so an id nobody registered is answered exactly like a wrong signature (same code path, no
 * secret read) and outsiders cannot probe which accounts exist.
 */
const NO_CREDENTIALS: Credentials = Object.freeze({});

const json = (statusCode: number, body: unknown): WebhookAnswer => ({
  statusCode,
  contentType: 'application/json',
  body: JSON.stringify(body),
});
const error = (statusCode: number, code: string, message: string) => json(statusCode, { code, message });

export const ingestWebhook = async (
  connector: InboundConnector,
  request: WebhookRequest,
  options: IngestOptions,
  deps: IngestDeps,
): Promise<WebhookAnswer> => {
  const { channel } = connector;
  const receivedAt = deps.clock.now().toISOString();
  if (request.rawBody.length > options.maxBodyBytes) {
    deps.log.warn('webhook body too large', { channel, bytes: request.rawBody.length });
    return error(413, 'payload_too_large', `body exceeds ${options.maxBodyBytes} bytes`);
  }
  const pathAccount = options.accountId;
  const verifyingAccount = pathAccount ?? DEFAULT_ACCOUNT;
  // A malformed id is looked up nowhere: an unauthenticated caller must not drive secret reads.
  const stored =
    pathAccount === undefined || ACCOUNT_ID.test(pathAccount)
      ? await deps.secrets.get(channel, verifyingAccount, { ownOnly: true })
      : undefined;
  let credentials: Credentials = NO_CREDENTIALS;
  if (hasCredentials(stored, connector.credentialNames.inbound)) credentials = stored;
  // The deployment's own channel is no secret: without its credentials it says so, as before they are put.
  else if (pathAccount === undefined) return error(404, 'not_found', `${channel} is not configured for this account`);

  if (request.method === 'GET') {
    const answer = connector.handshake?.(request, credentials);
    return answer ?? error(405, 'method_not_allowed', `${channel} webhooks are POSTed`);
  }
  if (!connector.verify(request, credentials)) {
    deps.log.warn('webhook signature rejected', { channel, accountId: verifyingAccount.slice(0, 64) });
    return error(401, 'invalid_signature', 'missing or wrong signature');
  }
  const parsed = connector.parse(request.rawBody);
  switch (parsed.kind) {
    case 'malformed':
      deps.log.warn('malformed webhook body', { channel, reason: parsed.reason });
      return error(400, 'malformed_body', parsed.reason);
    case 'ignored':
      // Answered 200 on purpose: the provider would retry anything else, and the body will not improve.
      deps.log.warn('webhook body dropped', { channel, reason: parsed.reason });
      return json(200, { ok: true, events: 0 });
    case 'ok':
      break;
  }

  let accountId: string | undefined;
  try {
    accountId = await servedAccount(connector, credentials, pathAccount, deps);
  } catch (cause) {
    deps.log.error('could not learn which account the credentials serve; asking the provider to retry', {
      channel,
      accountId: verifyingAccount,
      error: cause instanceof Error ? cause.message : String(cause),
    });
    return error(503, 'unavailable', 'the account could not be checked; retry later');
  }
  if (accountId === undefined) {
    deps.log.warn("webhook body dropped: these credentials would receive into the default account's threads", {
      channel,
      accountId: verifyingAccount,
    });
    return json(200, { ok: true, events: 0 });
  }
  const normalized = connector.normalize(parsed.payload, { accountId, receivedAt });
  for (const reason of normalized.ignored) deps.log.info('webhook content ignored', { channel, accountId, reason });
  const events = await eventsOfVerifiedAccounts(connector, request, accountId, normalized.events, deps);
  if (events.length > 0) {
    try {
      await deps.bus.publish(events);
    } catch (cause) {
      deps.log.error('events not accepted by the bus; asking the provider to retry', {
        channel,
        accountId,
        events: events.length,
        error: cause instanceof Error ? cause.message : String(cause),
      });
      return error(503, 'unavailable', 'events could not be accepted; retry later');
    }
  }
  deps.log.info('webhook accepted', { channel, accountId, events: events.length });
  const result = { events, ignored: normalized.ignored };
  return connector.respond?.(result, parsed.payload, credentials) ?? json(200, { ok: true, events: events.length });
};

/**
 * The one account the verifying credentials serve: the id they name or the provider answers for them, else
 * the account they are stored under; undefined when that is the default account's id but they are not its
 * credentials. Throws when the provider could not say for now.
 */
const servedAccount = async (
  connector: InboundConnector,
  credentials: Credentials,
  pathAccount: string | undefined,
  deps: IngestDeps,
): Promise<string | undefined> => {
  const own = await deps.accounts.idOf(connector, credentials);
  if (own !== undefined) return own;
  if (pathAccount === undefined) return DEFAULT_ACCOUNT;
  // Credentials that could not say which bot they are, stored under the id the default account's bot has (a
  // LINE channel registered without its token under the default bot's user id, a Kakao skill secret without a
  // bot id registered before KAKAO_BOT_ID named that bot): they would otherwise receive into the default
  // account's threads without being its credentials.
  const defaults = await deps.secrets.get(connector.channel, DEFAULT_ACCOUNT, { ownOnly: true });
  const defaultId = defaults === undefined ? undefined : await deps.accounts.idOf(connector, defaults);
  return defaultId === pathAccount ? undefined : pathAccount;
};

/**
 * The events whose account the request's credentials serve, or whose own credentials verify the request
 * too. The others are dropped and logged per account; nothing is published for them.
 */
const eventsOfVerifiedAccounts = async (
  connector: InboundConnector,
  request: WebhookRequest,
  accountId: string,
  events: readonly ParleyEvent[],
  deps: IngestDeps,
): Promise<ParleyEvent[]> => {
  const verdicts = new Map<string, Promise<boolean>>([[accountId, Promise.resolve(true)]]);
  const kept: ParleyEvent[] = [];
  const dropped = new Map<string, number>();
  for (const event of events) {
    let verdict = verdicts.get(event.accountId);
    if (verdict === undefined) verdicts.set(event.accountId, (verdict = alsoVerifiedBy(connector, request, event.accountId, deps)));
    if (await verdict) kept.push(event);
    else dropped.set(event.accountId, (dropped.get(event.accountId) ?? 0) + 1);
  }
  for (const [other, count] of dropped) {
    deps.log.warn('webhook events dropped: their account is not one the verifying credentials serve', {
      channel: connector.channel,
      accountId,
      eventAccountId: other.slice(0, 64),
      events: count,
    });
  }
  return kept;
};

/**
 * True when `accountId` has credentials of its own that verify the request and serve that very id. The
 * store answers an id that has no secret without reading one, so ids a body makes up cost nothing.
 */
const alsoVerifiedBy = async (
  connector: InboundConnector,
  request: WebhookRequest,
  accountId: string,
  deps: IngestDeps,
): Promise<boolean> => {
  if (!ACCOUNT_ID.test(accountId)) return false;
  const theirs = await deps.secrets.get(connector.channel, accountId, { ownOnly: true });
  if (!hasCredentials(theirs, connector.credentialNames.inbound) || !connector.verify(request, theirs)) return false;
  try {
    return ((await deps.accounts.idOf(connector, theirs)) ?? accountId) === accountId;
  } catch (cause) {
    deps.log.warn('could not learn which account credentials serve; their events are dropped', {
      channel: connector.channel,
      eventAccountId: accountId,
      error: cause instanceof Error ? cause.message : String(cause),
    });
    return false;
  }
};
