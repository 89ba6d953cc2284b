/**
 * Time to Live: UpdateTimeToLive and DescribeTimeToLive (the setting persisted per table), and the sweep that
 * deletes expired items through the write path, so their index entries go with them and a table with a stream
 * gets REMOVE records carrying DynamoDB's service identity. An item expires when its TTL attribute is a top-level
 * number of epoch seconds before now and not more than five years before now.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-before-you-start.html
 */
import type { MainDb } from 'dynalite/db';
import { itemRange, type Item, type TableDescription } from './dynalite.ts';
import { validationError } from './errors.ts';
import { TTL_IDENTITY } from './streams.ts';
import type { WritePath } from './write-path.ts';

const TTL_PREFIX = 'parley-ttl~';
const FIVE_YEARS_SECONDS = 5 * 365 * 24 * 60 * 60;

export interface TimeToLiveSpecification {
  readonly AttributeName: string;
  readonly Enabled: boolean;
}

/** Whether the item has expired at `now` (ms) by its `attributeName`. */
export const isExpired = (item: Item, attributeName: string, now: number): boolean => {
  const value = item[attributeName]?.N;
  if (typeof value !== 'string') return false;
  const seconds = Number(value);
  const nowSeconds = now / 1000;
  return Number.isFinite(seconds) && seconds < nowSeconds && seconds >= nowSeconds - FIVE_YEARS_SECONDS;
};

export interface TimeToLiveDependencies {
  readonly db: MainDb;
  readonly writes: WritePath;
  readonly now: () => number;
  /** The table if it exists and is ACTIVE, else undefined. */
  readonly table: (name: string) => Promise<TableDescription | undefined>;
}

export class TimeToLive {
  readonly #deps: TimeToLiveDependencies;

  constructor(deps: TimeToLiveDependencies) {
    this.#deps = deps;
  }

  async describe(tableName: string): Promise<Record<string, unknown>> {
    const spec = await this.#spec(tableName);
    return {
      TimeToLiveDescription: spec?.Enabled
        ? { TimeToLiveStatus: 'ENABLED', AttributeName: spec.AttributeName }
        : { TimeToLiveStatus: 'DISABLED' },
    };
  }

  /** Enables or disables TTL on an existing table; the change is immediate here (AWS takes up to an hour). */
  async update(tableName: string, spec: TimeToLiveSpecification): Promise<Record<string, unknown>> {
    const current = await this.#spec(tableName);
    if (spec.Enabled && current?.Enabled) throw validationError('TimeToLive is already enabled');
    if (!spec.Enabled && !current?.Enabled) throw validationError('TimeToLive is already disabled');
    await this.#deps.db.put(TTL_PREFIX + tableName, { AttributeName: spec.AttributeName, Enabled: spec.Enabled });
    return { TimeToLiveSpecification: { AttributeName: spec.AttributeName, Enabled: spec.Enabled } };
  }

  async drop(tableName: string): Promise<void> {
    await this.#deps.db.del(TTL_PREFIX + tableName);
  }

  /** Deletes every expired item of every table with TTL enabled; returns how many it deleted. */
  async sweep(): Promise<number> {
    let deleted = 0;
    for await (const [key, value] of this.#deps.db.iterator({ gt: TTL_PREFIX, lt: `${TTL_PREFIX}\xff` })) {
      const spec = value as TimeToLiveSpecification;
      if (!spec.Enabled) continue;
      const table = await this.#deps.table(key.slice(TTL_PREFIX.length));
      if (table) deleted += await this.#sweepTable(table, spec.AttributeName);
    }
    return deleted;
  }

  async #sweepTable(table: TableDescription, attributeName: string): Promise<number> {
    const range = itemRange(table.TableName);
    const expired: string[] = [];
    const now = this.#deps.now();
    for await (const [key, item] of this.#deps.db.iterator(range)) {
      if (isExpired(item as Item, attributeName, now)) expired.push(key.slice(range.gt.length));
    }
    let deleted = 0;
    for (const key of expired) {
      const [settled] = await this.#deps.writes.write(
        [
          {
            table,
            key,
            // Checked again under the item's lock: a write since the scan may have extended or removed it.
            decide: (current) => (current && isExpired(current, attributeName, this.#deps.now()) ? { next: null } : {}),
          },
        ],
        { userIdentity: TTL_IDENTITY },
      );
      if (settled?.ok && settled.outcome.next === null && settled.current) deleted += 1;
    }
    return deleted;
  }

  async #spec(tableName: string): Promise<TimeToLiveSpecification | undefined> {
    return (await this.#deps.db.get(TTL_PREFIX + tableName)) as TimeToLiveSpecification | undefined;
  }
}
