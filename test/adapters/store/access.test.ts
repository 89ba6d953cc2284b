/**
 * API keys, channel accounts and idempotency records on the shared table.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { API_KEY_PREFIX, DynamoAccountStore, DynamoApiKeyStore, DynamoIdempotencyStore } from '../../../adapters/aws/store/access.ts';
import { NEW_RECORD } from '../../../domain/shared/store.ts';
import { accountContract, apiKey, apiKeyContract, idempotencyContract, idempotencyRecord } from './contracts/access.ts';
import { newTable, useLocalEngine, type TableFixture } from './harness.ts';
import { at } from './records.ts';

const engine = useLocalEngine();
let last: TableFixture | undefined;
const table = async () => {
  last = await newTable(engine());
  return last.table;
};

apiKeyContract('DynamoApiKeyStore on the local engine', async () => new DynamoApiKeyStore(await table()));
accountContract('DynamoAccountStore on the local engine', async () => new DynamoAccountStore(await table()));
idempotencyContract('DynamoIdempotencyStore on the local engine', async () => new DynamoIdempotencyStore(await table()));

describe('access records on the table', () => {
  it(`keeps every item of an API key under keys that start with ${API_KEY_PREFIX} (IAM's LeadingKeys rely on it)`, async () => {
    const keys = new DynamoApiKeyStore(await table());
    const fixture = last as TableFixture;
    await keys.create(apiKey());
    await new DynamoAccountStore(fixture.table).put({ channel: 'line', accountId: 'U4af4980629', createdAt: at(0) });

    // The test may scan its own table; the stores never do.
    const { Items = [] } = await fixture.db.client.send(new ScanCommand({ TableName: fixture.tableName }));
    const apiKeyItems = Items.filter((item) => item.entity === 'apikey');
    expect(apiKeyItems).toHaveLength(2);
    for (const item of apiKeyItems) expect(String(item.pk)).toMatch(new RegExp(`^${API_KEY_PREFIX}`));
    expect(Items.filter((item) => String(item.pk).startsWith(API_KEY_PREFIX)).every((item) => item.entity === 'apikey')).toBe(true);
  });

  it('marks idempotency records for the TTL sweep at their expiry', async () => {
    const store = new DynamoIdempotencyStore(await table());
    const fixture = last as TableFixture;
    const claim = idempotencyRecord({ expiresAt: '2026-03-15T09:00:00.250Z' });
    await store.put(claim, NEW_RECORD);

    const { Items = [] } = await fixture.db.client.send(new ScanCommand({ TableName: fixture.tableName }));
    expect(Items.map((item) => item.ttl)).toEqual([Math.ceil(Date.parse('2026-03-15T09:00:00.250Z') / 1000)]);
  });

  it('records account.registered with the first registration only', async () => {
    const accounts = new DynamoAccountStore(await table());
    const fixture = last as TableFixture;
    await accounts.put({ channel: 'telegram', accountId: '7712345678', createdAt: at(0) });
    const first = await fixture.stored({ pk: 'ACCOUNTS', sk: 'telegram#7712345678' });
    expect(JSON.parse(String(first?.ev))).toEqual([{ id: 'evt_account_telegram_7712345678', type: 'account.registered', at: at(0) }]);

    await accounts.put({ channel: 'telegram', accountId: '7712345678', name: 'Renamed', createdAt: at(9) });
    const second = await fixture.stored({ pk: 'ACCOUNTS', sk: 'telegram#7712345678' });
    expect(second?.ev).toBeUndefined();
    expect(second?.name).toBe('Renamed');
  });
});
