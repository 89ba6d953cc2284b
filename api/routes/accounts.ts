/**
 * Channel accounts: the bots, pages and phone numbers this deployment serves. The default account of each
 * channel is the deployment's own (its credentials come from the environment or its Secrets Manager secret);
 * further accounts are registered here, optionally with their own credentials (`admin` scope).
 */
import * as z from 'zod';
import { hasCredentials } from '../../domain/connector.ts';
import { ChannelSchema, type Channel } from '../../domain/content.ts';
import { AccountResolver, defaultAccountIds } from '../../domain/accounts.ts';
import { DEFAULT_ACCOUNT } from '../../domain/ingest.ts';
import { ProviderError } from '../../domain/provider-errors.ts';
import { AccountSchema, ACCOUNT_ID_PATTERN, type Account } from '../../domain/model.ts';
import { ApiError } from '../errors.ts';
import { json, jsonBody, jsonResponse, route } from '../kit.ts';
import type { Api, ApiDeps } from '../deps.ts';

export const RegisterAccountRequestSchema = z
  .strictObject({
    channel: z.string().min(1).describe('A channel enabled on this deployment'),
    accountId: z
      .string()
      .regex(ACCOUNT_ID_PATTERN, 'must be letters, digits, `_`, `.` or `-`, at most 64')
      .describe("The account's id on the channel (bot id, page id, phone number id, ...)"),
    name: AccountSchema.shape.name,
    credentials: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'must be a credential name such as `appSecret`'), z.string().min(1).max(4096))
      .optional()
      .describe(
        "The account's own credentials, by the channel's credential names (docs/channels.md): at least those its webhooks need. Kept in the deployment's secret store (Secrets Manager in AWS), never answered back; sending them again replaces them. Not accepted for the default account, whose credentials the deployment sets",
      ),
  })
  .meta({ id: 'RegisterAccountRequest' });

export const AccountViewSchema = z
  .object({
    channel: ChannelSchema,
    accountId: z.string().describe("The account's id on the channel; `default` for a default account whose credentials name none"),
    name: z.string().optional(),
    default: z.boolean().describe("The deployment's own account of the channel (credentials from its environment or secret)"),
    webhookUrl: z.string().describe("The path the provider's webhooks for this account go to, below the webhook base URL"),
    configured: z
      .boolean()
      .optional()
      .describe("Whether the account's inbound credentials are in place; absent where this deployment cannot tell"),
    createdAt: z.string().optional().describe('When it was first registered (registered accounts)'),
  })
  .meta({ id: 'Account' });
type AccountView = z.infer<typeof AccountViewSchema>;

const registerAccount = route({
  method: 'post',
  path: '/v1/accounts',
  operationId: 'registerAccount',
  summary: 'Register a channel account, optionally with its own credentials',
  tags: ['accounts'],
  scope: 'admin',
  errors: ['invalid_request', 'unknown_channel', 'account_reserved', 'credentials_managed_elsewhere'],
  request: { body: jsonBody(RegisterAccountRequestSchema) },
  responses: { 201: jsonResponse(AccountViewSchema, 'The account as registered') },
});

const listAccounts = route({
  method: 'get',
  path: '/v1/accounts',
  operationId: 'listAccounts',
  summary: "The channels' default accounts and the registered ones",
  tags: ['accounts'],
  scope: 'read',
  errors: ['invalid_request'],
  request: { query: z.object({ channel: ChannelSchema.optional().describe('Only the accounts of this channel') }) },
  responses: {
    200: jsonResponse(
      z.object({ items: z.array(AccountViewSchema) }).meta({ id: 'AccountList' }),
      'Default accounts first, then by channel and account id',
    ),
  },
});

const DEFAULTS_ARE_THE_DEPLOYMENTS =
  "The default account's credentials are the deployment's own (environment variables locally, its Secrets Manager secret in AWS)";

export const registerAccountRoutes = (app: Api, deps: ApiDeps): void => {
  const configured = async (channel: Channel, accountId: string): Promise<boolean | undefined> => {
    if (!deps.secrets) return undefined;
    const credentials = await deps.secrets.get(channel, accountId);
    return hasCredentials(credentials, deps.account(channel)?.credentialNames.inbound ?? []);
  };

  const viewOf = async (account: Account): Promise<AccountView> => {
    const state = await configured(account.channel, account.accountId);
    return {
      ...account,
      default: false,
      webhookUrl: `/webhooks/${account.channel}/${account.accountId}`,
      ...(state !== undefined && { configured: state }),
    };
  };

  /**
   * The ids the default account receives and replies under: `default`, and the id its credentials name or the
   * provider answers for them (a LINE bot's user id, asked once and cached).
   */
  const defaultIds = async (channel: Channel): Promise<readonly string[]> => {
    const account = deps.account(channel);
    if (!deps.secrets || !account) return [DEFAULT_ACCOUNT];
    const resolver = deps.accountIds ?? new AccountResolver({ fetch: globalThis.fetch, apiBaseUrls: {}, log: deps.log });
    try {
      return await defaultAccountIds(account, { secrets: deps.secrets, accounts: resolver });
    } catch (error) {
      if (error instanceof ProviderError)
        throw new ApiError(
          'unavailable',
          `${channel} could not say which account its default credentials belong to; try again`,
          undefined,
          { 'retry-after': '5' },
        );
      throw error;
    }
  };

  const defaultView = async (channel: Channel): Promise<AccountView> => {
    const [, named] = await defaultIds(channel);
    const state = await configured(channel, DEFAULT_ACCOUNT);
    return {
      channel,
      accountId: named ?? DEFAULT_ACCOUNT,
      default: true,
      webhookUrl: `/webhooks/${channel}`,
      ...(state !== undefined && { configured: state }),
    };
  };

  /**
   * Credentials put with a registration: only the channel's own names, at least the inbound ones, naming no
   * other account than the one registered.
   */
  const checkCredentials = (channel: Channel, accountId: string, credentials: Readonly<Record<string, string>>): void => {
    const account = deps.account(channel);
    if (!account) throw new ApiError('unknown_channel', `${channel} is not a channel enabled on this deployment`);
    const known = [...Object.keys(account.environment.credentials), ...(account.credentialNames.optional ?? [])];
    const unknown = Object.keys(credentials).filter((name) => !known.includes(name));
    const missing = account.credentialNames.inbound.filter((name) => credentials[name] === undefined);
    if (unknown.length > 0 || missing.length > 0) {
      throw new ApiError(
        'invalid_request',
        `${[
          unknown.length > 0 && `${channel} has no credential ${unknown.join(', ')}`,
          missing.length > 0 && `its webhooks need ${missing.join(', ')}`,
        ]
          .filter(Boolean)
          .join('; ')}. ${channel} credentials: ${known.join(', ')}`,
      );
    }
    const named = account.accountIdOf(credentials);
    if (named !== undefined && named !== accountId) {
      // Inbound routes by the id the credentials name, so replies would look for that account's secret.
      throw new ApiError(
        'invalid_request',
        `These ${channel} credentials belong to account ${named}, not ${accountId}; register them as ${named}`,
      );
    }
  };

  app.openapi(registerAccount, async (c) => {
    const input = c.req.valid('json');
    const parsed = ChannelSchema.safeParse(input.channel);
    if (!parsed.success || !deps.channels.includes(parsed.data) || !deps.capabilities(parsed.data)) {
      throw new ApiError(
        'unknown_channel',
        `${input.channel} is not a channel enabled on this deployment; channels: ${deps.channels.join(', ')}`,
      );
    }
    const channel = parsed.data;
    // No key may take over the default account's inbound or replies by registering its ids.
    if ((await defaultIds(channel)).includes(input.accountId)) throw new ApiError('account_reserved', DEFAULTS_ARE_THE_DEPLOYMENTS);
    if (input.credentials !== undefined) {
      checkCredentials(channel, input.accountId, input.credentials);
      if (!deps.secrets) throw new ApiError('unavailable', 'This deployment cannot keep credentials');
      // Before the registration, so an account is never listed with credentials that were not kept.
      await deps.secrets.put(channel, input.accountId, input.credentials);
      deps.log.info('account credentials put', { channel, accountId: input.accountId, names: Object.keys(input.credentials) });
    }
    const stored = await deps.accounts.put({
      channel,
      accountId: input.accountId,
      ...(input.name !== undefined && { name: input.name }),
      createdAt: deps.clock.now().toISOString(),
    });
    return json(c, 201, await viewOf(stored)) as never;
  });

  app.openapi(listAccounts, async (c) => {
    const { channel } = c.req.valid('query');
    const channels = channel === undefined ? deps.channels : deps.channels.filter((ch) => ch === channel);
    const defaults = await Promise.all(channels.map(defaultView));
    const registered = await Promise.all((await deps.accounts.list(channel)).map(viewOf));
    return json(c, 200, { items: [...defaults, ...registered] }) as never;
  });
};
