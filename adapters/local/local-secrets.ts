import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as z from 'zod';
import type { Channel } from '../../domain/content.ts';
import { DEFAULT_ACCOUNT } from '../../domain/ingest.ts';
import type { Credentials, SecretLookup, SecretStore } from '../../domain/ports.ts';

export interface LocalAccount {
  readonly credentials: Credentials;
  /** The id the credentials name, if any (a Telegram token names its bot). */
  readonly accountId?: string;
}

/** `{ channel: { accountId: credentials } }`, as kept in the data dir. */
const AccountFileSchema = z.record(z.string(), z.record(z.string(), z.record(z.string(), z.string())));
type AccountFile = z.infer<typeof AccountFileSchema>;

/**
 * Channel credentials for the local runtime. Each channel's default account comes from the environment or
 * from development credentials generated on first start; it answers to `default` and to the account id its
 * credentials name. Further accounts' own credentials, put through the integrator API, live in `path` (a
 * JSON file readable by its owner only), which the runtime's threads share: a reader notices a newer file and
 * rereads it. Which accounts exist is that file: an id it does not hold costs one `stat`, nothing more.
 * For sending only (not `ownOnly`), credentials that name no account (a LINE channel secret) also
 * serve ids without credentials of their own, as the Secrets Manager store does in AWS.
 */
export class LocalSecretStore implements SecretStore {
  private own: AccountFile = {};
  private loadedAt = -1;

  constructor(
    private readonly defaults: Partial<Record<Channel, LocalAccount>>,
    private readonly path?: string,
  ) {}

  async get(channel: Channel, accountId: string, options: SecretLookup = {}): Promise<Credentials | undefined> {
    const account = this.defaults[channel];
    // The default account answers to the id its credentials name, whatever else claims that id.
    if (account && (accountId === DEFAULT_ACCOUNT || accountId === account.accountId)) return account.credentials;
    // `Object.hasOwn`: an id such as `__proto__` or `constructor` is a made-up id like any other.
    const accounts = this.load()[channel];
    if (accounts && Object.hasOwn(accounts, accountId)) return accounts[accountId];
    return !options.ownOnly && account && account.accountId === undefined ? account.credentials : undefined;
  }

  async put(channel: Channel, accountId: string, credentials: Credentials): Promise<void> {
    if (this.path === undefined) throw new Error('this secret store keeps no credentials of its own');
    const next: AccountFile = { ...this.load(), [channel]: { ...this.own[channel], [accountId]: { ...credentials } } };
    mkdirSync(dirname(this.path), { recursive: true });
    // Written aside and renamed, so a reader never sees half a file.
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.path);
    this.own = next;
    this.loadedAt = statSync(this.path).mtimeMs;
  }

  /** One `stat` per read (on the webhook path): the file is reread only when another thread changed it. */
  private load(): AccountFile {
    if (this.path === undefined) return this.own;
    const modifiedAt = statSync(this.path, { throwIfNoEntry: false })?.mtimeMs;
    if (modifiedAt === undefined) return this.own;
    if (modifiedAt !== this.loadedAt) {
      this.own = AccountFileSchema.parse(JSON.parse(readFileSync(this.path, 'utf8')));
      this.loadedAt = modifiedAt;
    }
    return this.own;
  }
}
