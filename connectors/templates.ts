/**
 * Which channels can list an account's message templates from their provider, and how: the integrator API's
 * template sync asks here, and does not know which channel has templates.
 */
import type { AccountContext, Credentials } from '../domain/connector.ts';
import type { Channel } from '../domain/content.ts';
import type { Template } from '../domain/delivery/templates.ts';
import { fetchWhatsAppTemplates } from './whatsapp/whatsapp.templates.ts';
import { WHATSAPP_ACCOUNT } from './whatsapp/whatsapp.account.ts';

/**
 * The account's templates as its provider lists them, or undefined when the channel has none to list or the
 * account's settings do not say where (WhatsApp: `businessAccountId`). Throws a provider error on refusal.
 */
export const providerTemplates = async (
  channel: Channel,
  accountId: string,
  credentials: Credentials,
  context: Pick<AccountContext, 'fetch'> & { readonly now: Date; readonly apiBaseUrls: Partial<Record<Channel, string>> },
): Promise<Template[] | undefined> => {
  if (channel !== 'whatsapp') return undefined;
  const businessAccountId = credentials['businessAccountId'];
  if (!businessAccountId) return undefined;
  return fetchWhatsAppTemplates(
    accountId,
    businessAccountId,
    { apiBaseUrl: context.apiBaseUrls.whatsapp ?? WHATSAPP_ACCOUNT.defaultApiBaseUrl, credentials, fetch: context.fetch },
    context.now.toISOString(),
  );
};
