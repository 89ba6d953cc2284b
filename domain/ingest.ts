/**
 * The webhook path shared by every channel: size limit, credentials, handshake, verification on the raw
 * bytes, parsing, normalization, and publication. The provider gets its 200 only once the bus has
 * accepted every event; anything short of that is a 5xx so the provider retries.
 */
import { hasCredentials, type Connector, type WebhookAnswer, type WebhookRequest } from './connector.ts';
import type { Clock, EventBus, Log, SecretStore } from './ports.ts';

export interface IngestDeps {
  readonly secrets: SecretStore;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly log: Log;
}

export interface IngestOptions {
  readonly maxBodyBytes: number;
  /** The account named in the path, or undefined for the channel's default account. */
  readonly accountId?: string;
}

export const DEFAULT_ACCOUNT = 'default';

/** What a provider's account id looks like (bot ids, phone number ids, page ids, LINE user ids). */
const ACCOUNT_ID = /^[A-Za-z0-9_.-]{1,64}$/;

const json = (statusCode: number, body: unknown): WebhookAnswer => ({
  statusCode,
  contentType: 'application/json',
  body: JSON.stringify(body),
});
const error = (statusCode: number, code: string, message: string) => json(statusCode, { code, message });

export const ingestWebhook = async (
  connector: Connector,
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
  // Checked before any lookup: an unauthenticated caller must not drive secret reads with made-up ids.
  if (options.accountId !== undefined && !ACCOUNT_ID.test(options.accountId)) {
    return error(404, 'not_found', `${channel} has no account ${JSON.stringify(options.accountId.slice(0, 64))}`);
  }
  const credentials = await deps.secrets.get(channel, options.accountId ?? DEFAULT_ACCOUNT);
  if (!hasCredentials(credentials, connector.credentialNames.inbound)) return error(404, 'not_found', `${channel} is not configured for this account`);

  if (request.method === 'GET') {
    const answer = connector.handshake?.(request, credentials);
    return answer ?? error(405, 'method_not_allowed', `${channel} webhooks are POSTed`);
  }
  if (!connector.verify(request, credentials)) {
    deps.log.warn('webhook signature rejected', { channel, accountId: options.accountId ?? DEFAULT_ACCOUNT });
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
  const accountId = connector.accountIdOf(credentials) ?? options.accountId ?? DEFAULT_ACCOUNT;
  const normalized = connector.normalize(parsed.payload, { accountId, receivedAt });
  const { events, ignored } = normalized;
  for (const reason of ignored) deps.log.info('webhook content ignored', { channel, accountId, reason });
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
  return connector.respond?.(normalized, parsed.payload, credentials) ?? json(200, { ok: true, events: events.length });
};
