import type { Channel } from '../../domain/content.ts';
import { DEFAULT_ACCOUNT } from '../../domain/ingest.ts';
import type { Credentials, SecretStore } from '../../domain/ports.ts';

export interface LocalAccount {
  readonly credentials: Credentials;
  /** The id the credentials name, if any (a Telegram token names its bot). */
  readonly accountId?: string;
}

/**
 * Channel credentials for the local runtime: each channel's default account, from the environment or
 * from development credentials generated on first start. The default account answers to `default` and to
 * the account id its credentials name; credentials that name no account (a LINE channel secret) answer to
 * any account id of their channel, as the Secrets Manager store does in AWS.
 */
export class LocalSecretStore implements SecretStore {
  constructor(private readonly accounts: Partial<Record<Channel, LocalAccount>>) {}

  async get(channel: Channel, accountId: string): Promise<Credentials | undefined> {
    const account = this.accounts[channel];
    if (!account) return undefined;
    const serves = accountId === DEFAULT_ACCOUNT || account.accountId === undefined || accountId === account.accountId;
    return serves ? account.credentials : undefined;
  }
}
