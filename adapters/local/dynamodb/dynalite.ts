/**
 * dynalite's internals, loaded in-process: its LevelDB store, its request validations (types, constraints,
 * expression parsers) and its actions. The engine runs reads and the control plane on the real store exactly
 * as dynalite's own HTTP handler does, and computes every write with dynalite's own write actions against a
 * virtual store, so conditions, update expressions, ReturnValues and ConsumedCapacity stay dynalite's.
 * CommonJS modules of a pinned version (package.json); their shapes are declared in types/dynalite-internals.d.ts.
 */
import { createRequire } from 'node:module';
import type * as DynaliteDb from 'dynalite/db';
import type { ActionValidation } from 'dynalite/validations';
import type * as DynaliteValidations from 'dynalite/validations';

const require = createRequire(import.meta.url);

export const db = require('dynalite/db') as typeof DynaliteDb;
export const validations = require('dynalite/validations') as typeof DynaliteValidations;

export type Store = DynaliteDb.Store;
export type TableDescription = DynaliteDb.TableDescription;
export type Item = DynaliteDb.DynaliteItem;
export type DynaliteError = DynaliteDb.DynaliteError;
export type BatchOperation = DynaliteDb.BatchOperation;

/** A dynalite action: `(store, validated request, callback)`. */
export type Action = (store: unknown, data: Record<string, unknown>, callback: DynaliteDb.Callback<Record<string, unknown>>) => void;

const lowerFirst = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

/** dynalite's action module for an operation (`PutItem` → `dynalite/actions/putItem`). */
export const action = (operation: string): Action => require(`dynalite/actions/${lowerFirst(operation)}`) as Action;

/** dynalite's validation module for an operation (`PutItem` → `dynalite/validations/putItem`). */
export const validation = (operation: string): ActionValidation =>
  require(`dynalite/validations/${lowerFirst(operation)}`) as ActionValidation;

/** Runs a dynalite action and settles with its answer, or rejects with its error (a `DynaliteError`). */
export const run = (act: Action, store: unknown, data: Record<string, unknown>): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    act(store, data, (error, result) => (error ? reject(error) : resolve(result ?? {})));
  });

/** The main-LevelDB key of an item, under dynalite's prefix for the table's item db. */
export const itemKey = (tableName: string, key: string): string => `item-${tableName}~${key}`;

/** The key range of a table's items in the main LevelDB. */
export const itemRange = (tableName: string): { gt: string; lt: string } => ({
  gt: `item-${tableName}~`,
  lt: `item-${tableName}~\xff`,
});

/** The main-LevelDB key of an index entry, under dynalite's prefix for that index's db. */
export const indexKey = (indexType: 'Global' | 'Local', tableName: string, indexName: string, key: string): string =>
  `index-${indexType.toLowerCase()}~${tableName}~${indexName}~${key}`;

/** The batch operations that keep a table's secondary indexes in step with one item's change. */
export const indexOperations = (table: TableDescription, before: Item | undefined, after: Item | undefined): BatchOperation[] => {
  const operations: BatchOperation[] = [];
  for (const indexType of ['Local', 'Global'] as const) {
    const indexes = table[`${indexType}SecondaryIndexes`];
    if (!indexes?.length) continue;
    const { puts, deletes } = db.getIndexActions(indexes, before, after, table);
    // Deletes first, as dynalite's own updateIndexes does; getIndexActions never deletes a key it also puts.
    for (const entry of deletes) operations.push({ type: 'del', key: indexKey(indexType, table.TableName, entry.index, entry.key) });
    for (const entry of puts) {
      operations.push({ type: 'put', key: indexKey(indexType, table.TableName, entry.index, entry.key), value: entry.item });
    }
  }
  return operations;
};
