/**
 * API keys, channel accounts and idempotency keys on the shared table. API key items live under keys that
 * start with `APIKEY`, so IAM can keep every function but the API's admin routes from writing them, and the
 * authorizer from reading anything else (`dynamodb:LeadingKeys`, lib/thread-table.ts).
 */
import * as z from 'zod';
import type { AccountStore } from '../../../domain/access/accounts.ts';
import { ApiKeySchema, type ApiKeyStore, type StoredApiKey } from '../../../domain/access/model.ts';
import type { Channel } from '../../../domain/content.ts';
import { AccountSchema, type Account } from '../../../domain/model.ts';
import type { IdempotencyRecord, IdempotencyStore } from '../../../domain/shared/idempotency.ts';
import { ConflictError, NEW_RECORD, type Versioned } from '../../../domain/shared/store.ts';
import { millis } from '../../../domain/shared/time.ts';
import { TABLE_KEYS } from '../../../topology/table.ts';
import { type DynamoTable, key, KIND_ATTRIBUTE, versionOf, type Key } from './table.ts';

/** Every key of an API key item starts with this: the IAM `dynamodb:LeadingKeys` patterns rely on it. */
export const API_KEY_PREFIX = 'APIKEY';
const apiKeyHashKey = (keyHash: string): Key => ({ pk: key(`${API_KEY_PREFIX}#HASH`, keyHash), sk: 'APIKEY' });
const apiKeyIdKey = (id: string): Key => ({ pk: `${API_KEY_PREFIX}S`, sk: key('KEY', id) });

const StoredApiKeySchema = ApiKeySchema.extend({ keyHash: z.string() });

export class DynamoApiKeyStore implements ApiKeyStore {
  constructor(private readonly table: DynamoTable) {}

  async findByHash(keyHash: string): Promise<StoredApiKey | undefined> {
    const item = await this.table.get(apiKeyHashKey(keyHash));
    return item && StoredApiKeySchema.parse(item);
  }

  async get(id: string): Promise<StoredApiKey | undefined> {
    const item = await this.table.get(apiKeyIdKey(id));
    return item && StoredApiKeySchema.parse(item);
  }

  /** One Query of the keys' partition: a deployment has a handful. */
  async list(): Promise<StoredApiKey[]> {
    const keys: StoredApiKey[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query({
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': `${API_KEY_PREFIX}S` },
        ConsistentRead: true,
        ...(start && { ExclusiveStartKey: start }),
      });
      keys.push(...page.items.map((item) => StoredApiKeySchema.parse(item)));
      start = page.lastKey;
    } while (start);
    return keys.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  async create(apiKey: StoredApiKey): Promise<void> {
    const record = StoredApiKeySchema.parse(apiKey);
    try {
      await this.table.commit([
        {
          op: 'put',
          item: { ...apiKeyHashKey(record.keyHash), [KIND_ATTRIBUTE]: 'apikey', ...record },
          version: NEW_RECORD,
          label: 'api key hash',
        },
        { op: 'put', item: { ...apiKeyIdKey(record.id), [KIND_ATTRIBUTE]: 'apikey', ...record }, version: NEW_RECORD, label: 'api key id' },
      ]);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const existing = await this.findByHash(record.keyHash);
      if (existing?.id !== record.id) throw new Error(`an API key with the same id or hash is already stored: ${record.id}`);
    }
  }

  async revoke(id: string): Promise<boolean> {
    const itemKey = apiKeyIdKey(id);
    const item = await this.table.get(itemKey);
    if (!item) return false;
    const stored = StoredApiKeySchema.parse(item);
    const hashItem = await this.table.get(apiKeyHashKey(stored.keyHash));
    await this.table.commit([
      { op: 'delete', key: itemKey, version: versionOf(item), label: 'api key id' },
      ...(hashItem
        ? [{ op: 'delete' as const, key: apiKeyHashKey(stored.keyHash), version: versionOf(hashItem), label: 'api key hash' }]
        : []),
    ]);
    return true;
  }
}

/** Every account in one partition: a deployment has a handful, and listing them is one Query. */
const ACCOUNTS_PK = 'ACCOUNTS';
const accountKey = (channel: Channel, accountId: string): Key => ({ pk: ACCOUNTS_PK, sk: key(channel, accountId) });

export class DynamoAccountStore implements AccountStore {
  constructor(private readonly table: DynamoTable) {}

  async put(account: Account): Promise<Account> {
    const valid = AccountSchema.parse(account);
    for (let attempt = 0; ; attempt++) {
      const itemKey = accountKey(valid.channel, valid.accountId);
      const item = await this.table.get(itemKey);
      const existing = item && AccountSchema.parse(item);
      const next: Account = existing ? { ...existing, ...(valid.name !== undefined && { name: valid.name }) } : valid;
      if (existing && JSON.stringify(existing) === JSON.stringify(next)) return existing;
      try {
        await this.table.commit([
          {
            op: 'put',
            item: { ...itemKey, [KIND_ATTRIBUTE]: 'account', ...next },
            version: item ? versionOf(item) : NEW_RECORD,
            ...(!existing && {
              events: [{ id: `evt_account_${valid.channel}_${valid.accountId}`, type: 'account.registered' as const, at: valid.createdAt }],
            }),
            label: 'account',
          },
        ]);
        return next;
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= 5) throw error;
      }
    }
  }

  async get(channel: Channel, accountId: string): Promise<Account | undefined> {
    const item = await this.table.get(accountKey(channel, accountId));
    return item && AccountSchema.parse(item);
  }

  async list(channel?: Channel): Promise<Account[]> {
    const accounts: Account[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query({
        KeyConditionExpression: channel === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk', ...(channel !== undefined && { '#sk': 'sk' }) },
        ExpressionAttributeValues: { ':pk': ACCOUNTS_PK, ...(channel !== undefined && { ':prefix': `${channel}#` }) },
        ConsistentRead: true,
        ...(start && { ExclusiveStartKey: start }),
      });
      accounts.push(...page.items.map((item) => AccountSchema.parse(item)));
      start = page.lastKey;
    } while (start);
    return accounts;
  }
}

const idempotencyKey = (scope: string, clientKey: string): Key => ({ pk: key('IDEMPOTENCY', scope, clientKey), sk: 'IDEMPOTENCY' });

const IdempotencyRecordSchema = z.object({
  scope: z.string(),
  key: z.string(),
  requestHash: z.string(),
  firstSeenAt: z.string(),
  state: z.enum(['in_progress', 'completed']),
  leaseUntil: z.string().optional(),
  response: z.object({ status: z.number(), headers: z.record(z.string(), z.string()), body: z.string() }).optional(),
  expiresAt: z.string(),
});

export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(private readonly table: DynamoTable) {}

  /** Expired records too (DynamoDB's TTL sweep may lag by days): the caller decides, on `expiresAt`. */
  async get(scope: string, clientKey: string): Promise<Versioned<IdempotencyRecord> | undefined> {
    const item = await this.table.get(idempotencyKey(scope, clientKey));
    return item && { value: IdempotencyRecordSchema.parse(item) as IdempotencyRecord, version: versionOf(item) };
  }

  async put(record: IdempotencyRecord, version: number): Promise<void> {
    const valid = IdempotencyRecordSchema.parse(record);
    await this.table.commit([
      {
        op: 'put',
        item: {
          ...idempotencyKey(valid.scope, valid.key),
          [KIND_ATTRIBUTE]: 'idempotency',
          ...valid,
          [TABLE_KEYS.ttlAttribute]: Math.ceil(millis(valid.expiresAt) / 1000),
        },
        version,
        label: 'idempotency key',
      },
    ]);
  }
}
