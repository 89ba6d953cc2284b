/**
 * The one DynamoDB table every store adapter shares (single-table design; layouts and access patterns in
 * docs/data-model.md), reduced to what the domain's versioned records need: read with a version, write all or
 * nothing only if the versions read still hold, and keep each write's domain events beside it (the outbox
 * attribute {@link EVENTS_ATTRIBUTE}, published by the stream relay). Every read is a GetItem, a
 * BatchGetItem or a Query; nothing scans.
 *
 * One write is a conditional PutItem or DeleteItem; several are one TransactWriteItems (which DynamoDB
 * bills twice, so the domain uses it only where atomicity matters: a new customer's identity, contact and
 * thread; a merge).
 */
import { ConditionalCheckFailedException, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { InvalidCursorError } from '../../../domain/errors.ts';
import type { PendingEvent } from '../../../domain/events/outbox.ts';
import { ConflictError, NEW_RECORD } from '../../../domain/shared/store.ts';
import { TABLE_KEYS } from '../../../topology/table.ts';

/** The attribute holding a write's domain events (JSON), which the stream relay publishes. */
export const EVENTS_ATTRIBUTE = 'ev';
/** The record's version, for optimistic concurrency. */
export const VERSION_ATTRIBUTE = 'v';
/** What kind of record an item holds, for the stream relay (`contact`, `thread`, `message`, ...). */
export const KIND_ATTRIBUTE = 'entity';

export type Item = Record<string, unknown>;
export interface Key {
  readonly pk: string;
  readonly sk: string;
}

/** Free-form key parts are escaped so that '#' inside an id can never make two keys collide. */
const part = (value: string): string => value.replaceAll('%', '%25').replaceAll('#', '%23');
export const key = (prefix: string, ...parts: readonly string[]): string => [prefix, ...parts.map(part)].join('#');

/** BatchGetItem reads at most 100 keys. */
export const MAX_BATCH_GET = 100;
/** Pages are at most this long, so a page's items can be fetched in one BatchGetItem. */
export const MAX_PAGE_SIZE = 100;
/** Tries of a batch read before its unprocessed keys are given up on. */
const MAX_BATCH_TRIES = 8;

export interface TablePut {
  readonly op: 'put';
  readonly item: Item & Key;
  /** {@link NEW_RECORD}: the item must not exist; otherwise it must have this version. */
  readonly version: number;
  readonly events?: readonly PendingEvent[];
  /** Says which record conflicted, for the error. */
  readonly label: string;
}

export interface TableDelete {
  readonly op: 'delete';
  readonly key: Key;
  readonly version: number;
  readonly label: string;
}

export type TableWrite = TablePut | TableDelete;

export interface TableOptions {
  /**
   * A document client created with `marshallOptions.removeUndefinedValues: true` ({@link createDocumentClient}):
   * domain records carry optional fields as `undefined`, which the marshaller otherwise rejects.
   */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** The document client the stores expect, over a plain DynamoDB client. */
export const createDocumentClient = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

const VersionSchema = z.object({ [VERSION_ATTRIBUTE]: z.number().int().nonnegative() });

/** The version an item was written with (items written before versions existed count as 1). */
export const versionOf = (item: Item): number => {
  const parsed = VersionSchema.safeParse(item);
  return parsed.success ? parsed.data[VERSION_ATTRIBUTE] : 1;
};

interface Condition {
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

const conditionOf = (version: number): Condition =>
  version === NEW_RECORD
    ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey } }
    : {
        ConditionExpression: '#v = :v',
        ExpressionAttributeNames: { '#v': VERSION_ATTRIBUTE },
        ExpressionAttributeValues: { ':v': version },
      };

/** The item as written: its version moved on, and its events (or none) replacing the previous write's. */
const itemOf = (write: TablePut): Item => {
  const { [EVENTS_ATTRIBUTE]: _previous, ...item } = write.item;
  return {
    ...item,
    [VERSION_ATTRIBUTE]: write.version + 1,
    ...(write.events !== undefined && write.events.length > 0 && { [EVENTS_ATTRIBUTE]: JSON.stringify(write.events) }),
  };
};

export class DynamoTable {
  readonly client: DynamoDBDocumentClient;
  readonly name: string;

  constructor(options: TableOptions) {
    if (options.client.config.translateConfig?.marshallOptions?.removeUndefinedValues !== true) {
      throw new Error('DynamoTable needs a document client created with marshallOptions.removeUndefinedValues: true');
    }
    if (!options.tableName) throw new Error('DynamoTable needs a table name');
    this.client = options.client;
    this.name = options.tableName;
  }

  /**
   * Strongly consistent unless `eventually`: reads that decide a write must see the latest write. An eventually
   * consistent read costs half, and suits lookups whose write is decided by a condition anyway.
   */
  async get(itemKey: Key, options: { readonly eventually?: boolean } = {}): Promise<Item | undefined> {
    const answer = await this.client.send(
      new GetCommand({ TableName: this.name, Key: itemKey, ConsistentRead: options.eventually !== true }),
    );
    return answer.Item;
  }

  /** The items of these keys that exist, in no particular order. */
  async batchGet(keys: readonly Key[]): Promise<Item[]> {
    const found: Item[] = [];
    for (let start = 0; start < keys.length; start += MAX_BATCH_GET) {
      let pending: Item[] = keys.slice(start, start + MAX_BATCH_GET).map((k) => ({ pk: k.pk, sk: k.sk }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= MAX_BATCH_TRIES)
          throw new Error(`BatchGetItem left ${pending.length} key(s) unprocessed after ${MAX_BATCH_TRIES} tries`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));
        const answer = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.name]: { Keys: pending, ConsistentRead: true } } }),
        );
        found.push(...(answer.Responses?.[this.name] ?? []));
        pending = answer.UnprocessedKeys?.[this.name]?.Keys ?? [];
      }
    }
    return found;
  }

  async query(input: Omit<QueryCommandInput, 'TableName'>): Promise<{ items: Item[]; lastKey?: Item }> {
    const answer = await this.client.send(new QueryCommand({ ...input, TableName: this.name }));
    return { items: answer.Items ?? [], ...(answer.LastEvaluatedKey && { lastKey: answer.LastEvaluatedKey }) };
  }

  /**
   * Adds `by` to a number attribute, creating the item (with `expiresAt` epoch seconds for the TTL sweep) when
   * it is missing, and answers the new value: one UpdateItem, for counters nothing else writes.
   */
  async increment(itemKey: Key, attribute: string, by: number, expiresAtSeconds: number): Promise<number> {
    const answer = await this.client.send(
      new UpdateCommand({
        TableName: this.name,
        Key: { pk: itemKey.pk, sk: itemKey.sk },
        UpdateExpression: 'ADD #n :by SET #ttl = if_not_exists(#ttl, :ttl)',
        ExpressionAttributeNames: { '#n': attribute, '#ttl': TABLE_KEYS.ttlAttribute },
        ExpressionAttributeValues: { ':by': by, ':ttl': expiresAtSeconds },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(answer.Attributes?.[attribute] ?? by);
  }

  /**
   * Writes all or nothing, each item only if it still has the version named. Throws {@link ConflictError}
   * when a version does not hold (or a concurrent transaction holds one of the items).
   */
  async commit(writes: readonly TableWrite[]): Promise<void> {
    if (writes.length === 0) return;
    if (writes.length === 1) return this.commitOne(writes[0] as TableWrite);
    if (writes.length > 100) throw new RangeError(`a transaction writes at most 100 items, but ${writes.length} were given`);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: writes.map((write) =>
            write.op === 'put'
              ? { Put: { TableName: this.name, Item: itemOf(write), ...conditionOf(write.version) } }
              : { Delete: { TableName: this.name, Key: { pk: write.key.pk, sk: write.key.sk }, ...conditionOf(write.version) } },
          ),
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        const failed = reasons.flatMap((reason, index) =>
          reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict'
            ? [writes[index]?.label ?? `write ${index}`]
            : [],
        );
        if (failed.length > 0 || reasons.length === 0) throw new ConflictError(failed.join(', ') || 'a transaction');
      }
      throw error;
    }
  }

  private async commitOne(write: TableWrite): Promise<void> {
    try {
      if (write.op === 'put') {
        await this.client.send(new PutCommand({ TableName: this.name, Item: itemOf(write), ...conditionOf(write.version) }));
      } else {
        await this.client.send(
          new DeleteCommand({ TableName: this.name, Key: { pk: write.key.pk, sk: write.key.sk }, ...conditionOf(write.version) }),
        );
      }
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConflictError(write.label);
      throw error;
    }
  }
}

// ---- paging ----------------------------------------------------------------------------------------------

export const encodeCursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Decodes a cursor this store issued for exactly this listing, validated by `schema` and `check`; anything
 * else is an {@link InvalidCursorError}, never a DynamoDB ValidationException or another listing's page.
 */
export const decodeCursor = <S extends z.ZodType>(
  cursor: string,
  schema: S,
  check: (value: z.output<S>) => boolean = () => true,
): z.output<S> => {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(cursor);
  }
  const parsed = schema.safeParse(decoded);
  if (!parsed.success || !check(parsed.data)) throw new InvalidCursorError(cursor);
  return parsed.data;
};

/** A table or index key as a cursor carries it: every attribute a string. */
export const KeyCursorSchema = z.record(z.string(), z.string().min(1));

export const checkLimit = (limit: number): void => {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, but ${limit} was provided`);
  }
};
