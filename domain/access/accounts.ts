/** The channel accounts a deployment serves beyond each channel's default account. */
import type { Channel } from '../content.ts';
import type { Account } from '../model.ts';

export interface AccountStore {
  /** Registers an account; registering it again changes only its name (when given). Returns it as stored. */
  put(account: Account): Promise<Account>;
  get(channel: Channel, accountId: string): Promise<Account | undefined>;
  /** Registered accounts, of one channel or of all, ordered by channel and account id. */
  list(channel?: Channel): Promise<Account[]>;
}
