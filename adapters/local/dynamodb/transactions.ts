/**
 * TransactWriteItems and TransactGetItems on the engine's write path. A write transaction locks all its items,
 * decides every action with dynalite's own write actions (conditions, update expressions), and commits all of
 * them in one LevelDB batch only if every action accepted; otherwise it writes nothing and answers
 * TransactionCanceledException with one reason per action. A read transaction holds its items' locks while it
 * reads them, so it never sees half of a write transaction.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactGetItems.html
 */
import { createHash } from 'node:crypto';
import type { MainDb } from 'dynalite/db';
import {
  action,
  db,
  itemKey,
  run,
  validation,
  validations,
  type BatchOperation,
  type Item,
  type Store,
  type TableDescription,
} from './dynalite.ts';
import {
  fromDynalite,
  idempotentParameterMismatch,
  transactionCanceled,
  transactionInProgress,
  validationError,
  type CancellationReason,
  type DynamoError,
} from './errors.ts';
import type { KeyLocks } from './key-locks.ts';
import { decideWithAction, itemKeyOf, type ItemWrite, type Settled, type WritePath } from './write-path.ts';

/** What the transactions need of the engine. */
export interface TransactionContext {
  readonly store: Store;
  readonly writes: WritePath;
  readonly locks: KeyLocks;
  readonly tokens: ClientTokens;
  /** The table, ACTIVE (or UPDATING); ResourceNotFoundException otherwise. */
  readonly table: (name: string) => Promise<TableDescription>;
}

type Types = Record<string, unknown>;
const pick = (types: Types, names: readonly string[]): Types => Object.fromEntries(names.map((name) => [name, types[name]]));

const RETURN_VALUES_ON_CONDITION_CHECK_FAILURE = { type: 'String', enum: ['ALL_OLD', 'NONE'] };
const EXPRESSION_FIELDS = ['ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues'];
const putTypes = validation('PutItem').types;
const updateTypes = validation('UpdateItem').types;
const deleteTypes = validation('DeleteItem').types;
const getTypes = validation('GetItem').types;

/** TransactWriteItems' request shape in dynalite's validation language, so its messages name AWS's paths. */
const TRANSACT_WRITE_TYPES: Types = {
  ReturnConsumedCapacity: putTypes.ReturnConsumedCapacity,
  ReturnItemCollectionMetrics: putTypes.ReturnItemCollectionMetrics,
  ClientRequestToken: { type: 'String', lengthGreaterThanOrEqual: 1, lengthLessThanOrEqual: 36 },
  TransactItems: {
    type: 'List',
    notNull: true,
    lengthGreaterThanOrEqual: 1,
    lengthLessThanOrEqual: 100,
    children: {
      type: 'ValueStruct<TransactWriteItem>',
      children: {
        ConditionCheck: {
          type: 'FieldStruct<ConditionCheck>',
          children: {
            ...pick(deleteTypes, ['TableName', 'Key', ...EXPRESSION_FIELDS]),
            ConditionExpression: { type: 'String', notNull: true },
            ReturnValuesOnConditionCheckFailure: RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
          },
        },
        Put: {
          type: 'FieldStruct<Put>',
          children: {
            ...pick(putTypes, ['TableName', 'Item', ...EXPRESSION_FIELDS]),
            ReturnValuesOnConditionCheckFailure: RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
          },
        },
        Delete: {
          type: 'FieldStruct<Delete>',
          children: {
            ...pick(deleteTypes, ['TableName', 'Key', ...EXPRESSION_FIELDS]),
            ReturnValuesOnConditionCheckFailure: RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
          },
        },
        Update: {
          type: 'FieldStruct<Update>',
          children: {
            ...pick(updateTypes, ['TableName', 'Key', ...EXPRESSION_FIELDS]),
            UpdateExpression: { type: 'String', notNull: true },
            ReturnValuesOnConditionCheckFailure: RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
          },
        },
      },
    },
  },
};

const TRANSACT_GET_TYPES: Types = {
  ReturnConsumedCapacity: getTypes.ReturnConsumedCapacity,
  TransactItems: {
    type: 'List',
    notNull: true,
    lengthGreaterThanOrEqual: 1,
    lengthLessThanOrEqual: 100,
    children: {
      type: 'ValueStruct<TransactGetItem>',
      children: {
        Get: {
          type: 'FieldStruct<Get>',
          notNull: true,
          children: pick(getTypes, ['TableName', 'Key', 'ProjectionExpression', 'ExpressionAttributeNames']),
        },
      },
    },
  },
};

/** Checks a request against a validation table, as dynalite's HTTP handler does; returns the cleaned request. */
export const validate = (
  input: Record<string, unknown>,
  types: Types,
  custom: ((data: Record<string, unknown>, store: Store) => string | null | undefined) | undefined,
  store: Store,
): Record<string, unknown> => {
  try {
    const data = validations.checkTypes(input, types);
    validations.checkValidations(data, types, custom, store);
    return data;
  } catch (error) {
    throw fromDynalite(error);
  }
};

/** Runs one of dynalite's custom validations (expression parsing) on an action of a transaction. */
const customCheck = (operation: string, data: Record<string, unknown>, store: Store): void => {
  const message = validation(operation).custom?.(data, store);
  if (message) throw validationError(message);
};

type Kind = 'ConditionCheck' | 'Put' | 'Delete' | 'Update';
const KINDS: readonly Kind[] = ['ConditionCheck', 'Put', 'Delete', 'Update'];

interface PlannedAction {
  readonly kind: Kind;
  readonly table: TableDescription;
  readonly key: string;
  readonly data: Record<string, unknown>;
  readonly returnOldOnFailure: boolean;
}

const TRANSACTION_MAX_BYTES = 4 * 1024 * 1024;

/** Validates a TransactWriteItems request and resolves each action's table and item key. */
const planWrites = async (context: TransactionContext, data: Record<string, unknown>): Promise<PlannedAction[]> => {
  const items = data.TransactItems as Record<string, Record<string, unknown> | undefined>[];
  const planned: PlannedAction[] = [];
  const targets = new Set<string>();
  let bytes = 0;
  for (const item of items) {
    const kinds = KINDS.filter((kind) => item[kind] !== undefined);
    if (kinds.length !== 1) throw validationError('TransactItems can only contain one of Check, Put, Update or Delete');
    const kind = kinds[0] as Kind;
    const { ReturnValuesOnConditionCheckFailure, ...action } = item[kind] as Record<string, unknown>;
    customCheck(kind === 'Put' ? 'PutItem' : kind === 'Update' ? 'UpdateItem' : 'DeleteItem', action, context.store);
    const table = await context.table(action.TableName as string);
    const key = itemKeyOf(table, (kind === 'Put' ? action.Item : action.Key) as Item, kind === 'Put');
    const target = `${table.TableName}\u0000${key}`;
    if (targets.has(target)) throw validationError('Transaction request cannot include multiple operations on one item');
    targets.add(target);
    if (kind === 'Put') bytes += db.itemSize(action.Item as Item);
    planned.push({ kind, table, key, data: action, returnOldOnFailure: ReturnValuesOnConditionCheckFailure === 'ALL_OLD' });
  }
  if (bytes > TRANSACTION_MAX_BYTES) {
    throw validationError(
      'Collection size of items exceeded, which can also be caused by the aggregate size of the items in the transaction exceeding the 4MB limit',
    );
  }
  return planned;
};

/** One action of a transaction as a write of the write path. */
const toWrite = (store: Store, planned: PlannedAction): ItemWrite => ({
  table: planned.table,
  key: planned.key,
  decide: (current) => {
    if (planned.kind === 'ConditionCheck') {
      const failed = db.checkConditional(planned.data, current);
      if (failed) throw failed;
      return {};
    }
    const operation = planned.kind === 'Put' ? 'PutItem' : planned.kind === 'Update' ? 'UpdateItem' : 'DeleteItem';
    return decideWithAction(operation, store, planned.table, planned.data, current);
  },
});

const reasonFor = (entry: Settled, planned: PlannedAction): CancellationReason => {
  if (entry.ok) return { Code: 'None' };
  const code = entry.error.code;
  if (code === 'ConditionalCheckFailedException') {
    return {
      Code: 'ConditionalCheckFailed',
      Message: 'The conditional request failed',
      ...(planned.returnOldOnFailure && entry.current && { Item: entry.current }),
    };
  }
  const message = (entry.error as DynamoError).body.message ?? (entry.error as DynamoError).body.Message;
  return {
    Code: code === 'ValidationException' ? 'ValidationError' : code.replace(/Exception$/, ''),
    ...(message && { Message: message }),
  };
};

/** Per-table units as DynamoDB counts a transaction: twice the units of the plain operation, per item. */
const transactionalUnits = (entries: readonly { table: string; units: number }[]): Map<string, number> => {
  const units = new Map<string, number>();
  for (const entry of entries) units.set(entry.table, (units.get(entry.table) ?? 0) + 2 * entry.units);
  return units;
};

const consumedCapacity = (
  mode: unknown,
  units: ReadonlyMap<string, number>,
  kind: 'ReadCapacityUnits' | 'WriteCapacityUnits',
): Record<string, unknown>[] | undefined => {
  if (mode !== 'TOTAL' && mode !== 'INDEXES') return undefined;
  return [...units].map(([TableName, CapacityUnits]) => ({
    TableName,
    CapacityUnits,
    [kind]: CapacityUnits,
    ...(mode === 'INDEXES' && { Table: { CapacityUnits, [kind]: CapacityUnits } }),
  }));
};

const readUnits = (item: Item | undefined): number => db.capacityUnits(item, true, true);
const writeUnits = (before: Item | undefined, after: Item | null | undefined): number =>
  Math.max(db.capacityUnits(after ?? before, false, false), before ? db.capacityUnits(before, false, false) : 0);

/** TransactWriteItems. */
export const transactWriteItems = async (context: TransactionContext, input: Record<string, unknown>): Promise<Record<string, unknown>> => {
  const data = validate(input, TRANSACT_WRITE_TYPES, undefined, context.store);
  const hash = createHash('sha256').update(JSON.stringify(data.TransactItems)).digest('base64');
  const planned = await planWrites(context, data);
  const token = data.ClientRequestToken as string | undefined;
  // Taken before looking the token up, so two requests with one token can never both miss it and both write.
  if (token !== undefined) context.tokens.begin(token);
  try {
    const previous = token === undefined ? undefined : await context.tokens.find(token);
    if (previous) {
      if (previous.hash !== hash) throw idempotentParameterMismatch();
      // The same request again within 10 minutes: no write, and the capacity of reading the items.
      const ConsumedCapacity = consumedCapacity(
        data.ReturnConsumedCapacity,
        new Map(Object.entries(previous.readUnits)),
        'ReadCapacityUnits',
      );
      return ConsumedCapacity ? { ConsumedCapacity } : {};
    }
    const settled = await context.writes.write(
      planned.map((action) => toWrite(context.store, action)),
      {
        ...(token !== undefined && {
          extra: (outcomes: readonly Settled[]) => [
            context.tokens.operation(token, {
              hash,
              readUnits: Object.fromEntries(
                transactionalUnits(
                  outcomes.map((entry, i) => ({
                    table: (planned[i] as PlannedAction).table.TableName,
                    units: readUnits(entry.ok && entry.outcome.next ? entry.outcome.next : entry.current),
                  })),
                ),
              ),
            }),
          ],
        }),
      },
    );
    if (!settled.every((entry) => entry.ok)) {
      throw transactionCanceled(settled.map((entry, i) => reasonFor(entry, planned[i] as PlannedAction)));
    }
    const units = transactionalUnits(
      settled.map((entry, i) => ({
        table: (planned[i] as PlannedAction).table.TableName,
        units: writeUnits(entry.current, entry.ok ? entry.outcome.next : undefined),
      })),
    );
    const ConsumedCapacity = consumedCapacity(data.ReturnConsumedCapacity, units, 'WriteCapacityUnits');
    return ConsumedCapacity ? { ConsumedCapacity } : {};
  } finally {
    if (token !== undefined) context.tokens.end(token);
  }
};

/** TransactGetItems: every item read while all of them are locked, so no write comes between two reads. */
export const transactGetItems = async (context: TransactionContext, input: Record<string, unknown>): Promise<Record<string, unknown>> => {
  const data = validate(input, TRANSACT_GET_TYPES, undefined, context.store);
  const gets: { table: TableDescription; key: string; data: Record<string, unknown> }[] = [];
  const targets = new Set<string>();
  for (const item of data.TransactItems as { Get: Record<string, unknown> }[]) {
    customCheck('GetItem', item.Get, context.store);
    const table = await context.table(item.Get.TableName as string);
    const key = itemKeyOf(table, item.Get.Key as Item, false);
    const target = `${table.TableName}\u0000${key}`;
    if (targets.has(target)) throw validationError('Transaction request cannot include multiple operations on one item');
    targets.add(target);
    gets.push({ table, key, data: item.Get });
  }
  // Writers commit an item only while holding its lock: holding all of them, the reads see one state of all items.
  const release = await context.locks.acquire([...targets]);
  let items: (Item | undefined)[];
  try {
    items = gets.map((get) => context.store.db.getSync(itemKey(get.table.TableName, get.key)) as Item | undefined);
  } finally {
    release();
  }
  const Responses = await Promise.all(
    gets.map(async (get, i) => {
      // dynalite's getItem applies the projection; it reads the item captured above, not the store.
      const virtual = {
        options: context.store.options,
        getTable: (_name: string, callback: (error: null, table: TableDescription) => void) => callback(null, get.table),
        getItemDb: () => ({ get: (_key: string, callback: (error: null, item: Item | undefined) => void) => callback(null, items[i]) }),
      };
      const { Item: projected } = await run(action('GetItem'), virtual, get.data);
      return projected ? { Item: projected } : {};
    }),
  );
  const units = transactionalUnits(gets.map((get, i) => ({ table: get.table.TableName, units: readUnits(items[i]) })));
  const ConsumedCapacity = consumedCapacity(data.ReturnConsumedCapacity, units, 'ReadCapacityUnits');
  return { Responses, ...(ConsumedCapacity && { ConsumedCapacity }) };
};

const TOKEN_PREFIX = 'parley-txtoken~';
/** A client request token is valid for 10 minutes after the first request that used it completed. */
export const TOKEN_VALIDITY_MS = 10 * 60 * 1000;

interface TokenRecord {
  readonly hash: string;
  readonly completedAt: number;
  readonly readUnits: Record<string, number>;
}

/** TransactWriteItems' `ClientRequestToken`s of the last 10 minutes, persisted with the transaction they made. */
export class ClientTokens {
  readonly #db: MainDb;
  readonly #now: () => number;
  readonly #inFlight = new Set<string>();

  constructor(database: MainDb, now: () => number) {
    this.#db = database;
    this.#now = now;
  }

  async find(token: string): Promise<TokenRecord | undefined> {
    const record = (await this.#db.get(TOKEN_PREFIX + token)) as TokenRecord | undefined;
    return record && record.completedAt + TOKEN_VALIDITY_MS > this.#now() ? record : undefined;
  }

  /** Marks the token as in use; a second request with it meanwhile is TransactionInProgressException. */
  begin(token: string): void {
    if (this.#inFlight.has(token)) throw transactionInProgress();
    this.#inFlight.add(token);
  }

  end(token: string): void {
    this.#inFlight.delete(token);
  }

  operation(token: string, record: Omit<TokenRecord, 'completedAt'>): BatchOperation {
    return { type: 'put', key: TOKEN_PREFIX + token, value: { ...record, completedAt: this.#now() } };
  }

  /** Forgets tokens older than 10 minutes. */
  async expire(): Promise<void> {
    const stale: BatchOperation[] = [];
    for await (const [key, value] of this.#db.iterator({ gt: TOKEN_PREFIX, lt: `${TOKEN_PREFIX}\xff` })) {
      if ((value as TokenRecord).completedAt + TOKEN_VALIDITY_MS <= this.#now()) stale.push({ type: 'del', key });
    }
    if (stale.length > 0) await this.#db.batch(stale);
  }
}
