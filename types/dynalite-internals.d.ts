/**
 * The parts of dynalite 4.0.0's internals (CommonJS, loaded with `createRequire`) that the local DynamoDB
 * engine (`adapters/local/dynamodb/`) reuses: the LevelDB store, the request validations and the actions.
 * Only what the engine touches is declared. The version is pinned in package.json: these are not a public API.
 */
declare module 'dynalite/db' {
  /** An item or key in AttributeValue JSON (`{ "pk": { "S": "a" } }`). */
  export type DynaliteItem = Record<string, Record<string, unknown>>;

  export interface DynaliteError extends Error {
    statusCode?: number;
    body?: { __type: string; message?: string; Message?: string };
  }

  export interface KeySchemaElement {
    readonly AttributeName: string;
    readonly KeyType: 'HASH' | 'RANGE';
  }

  export interface SecondaryIndex {
    readonly IndexName: string;
    readonly KeySchema: readonly KeySchemaElement[];
    readonly Projection: { readonly ProjectionType: string; readonly NonKeyAttributes?: readonly string[] };
  }

  /** A table's description as dynalite stores it (the CreateTable input plus status fields). */
  export interface TableDescription {
    TableName: string;
    TableArn: string;
    TableStatus: string;
    KeySchema: KeySchemaElement[];
    AttributeDefinitions: { AttributeName: string; AttributeType: string }[];
    GlobalSecondaryIndexes?: SecondaryIndex[];
    LocalSecondaryIndexes?: SecondaryIndex[];
    StreamSpecification?: { StreamEnabled: boolean; StreamViewType?: string };
    LatestStreamArn?: string;
    LatestStreamLabel?: string;
    [field: string]: unknown;
  }

  export type Callback<T> = (error: DynaliteError | null | undefined, value?: T) => void;

  /** A `<name>~`-prefixed view of the main LevelDB, with dynalite's per-key lock. */
  export interface SubDb {
    get(key: string, callback: Callback<unknown>): void;
    put(key: string, value: unknown, callback: Callback<void>): void;
    del(key: string, callback: Callback<void>): void;
    lock(key: string, locked: (release: <F>(callback: F) => F) => void): void;
  }

  export interface BatchOperation {
    readonly type: 'put' | 'del';
    readonly key: string;
    readonly value?: unknown;
  }

  export interface IteratorOptions {
    gt?: string;
    gte?: string;
    lt?: string;
    lte?: string;
    limit?: number;
    reverse?: boolean;
  }

  /** The main LevelDB (abstract-level 3, JSON values), with dynalite's callback wrappers on get/put/del/batch. */
  export interface MainDb {
    get(key: string): Promise<unknown>;
    /** abstract-level 3's synchronous read (classic-level and memory-level implement it); the db must be open. */
    getSync(key: string): unknown;
    put(key: string, value: unknown): Promise<void>;
    del(key: string): Promise<void>;
    batch(operations: BatchOperation[]): Promise<void>;
    clear(options: IteratorOptions): Promise<void>;
    iterator(options: IteratorOptions): AsyncIterable<[string, unknown]> & { close(): Promise<void> };
    keys(options: IteratorOptions): AsyncIterable<string> & { close(): Promise<void> };
  }

  export interface StoreOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSize?: number;
  }

  export interface Store {
    readonly options: Required<Pick<StoreOptions, 'maxItemSize'>> & StoreOptions;
    readonly db: MainDb;
    readonly tableDb: SubDb & { readonly awsAccountId: string; readonly awsRegion: string };
    getTable(name: string, checkStatus: boolean, callback: Callback<TableDescription>): void;
    getItemDb(name: string): SubDb;
    getIndexDb(indexType: string, tableName: string, indexName: string): SubDb;
    readonly lifecycleManager: { gracefulClose(callback?: (error?: Error | null) => void): Promise<void> | void };
  }

  export interface IndexActions {
    readonly puts: readonly { readonly index: string; readonly key: string; readonly item: DynaliteItem }[];
    readonly deletes: readonly { readonly index: string; readonly key: string }[];
  }

  export function create(options?: StoreOptions): Store;
  export function validateKey(key: DynaliteItem, table: TableDescription): DynaliteError | null | undefined;
  export function validateItem(item: DynaliteItem, table: TableDescription): DynaliteError | null | undefined;
  export function createKey(item: DynaliteItem, table: TableDescription): string;
  export function getIndexActions(
    indexes: readonly SecondaryIndex[],
    existingItem: DynaliteItem | null | undefined,
    item: DynaliteItem | null | undefined,
    table: TableDescription,
  ): IndexActions;
  export function checkConditional(data: object, existingItem: DynaliteItem | undefined): DynaliteError | null | undefined;
  export function itemSize(item: DynaliteItem): number;
  export function capacityUnits(item: DynaliteItem | null | undefined, isRead: boolean, isConsistent: boolean): number;
  export function validationError(message: string): DynaliteError;
}

declare module 'dynalite/validations' {
  import type { Store } from 'dynalite/db';

  /** A dynalite validation table: field name → type and constraints. */
  export type ValidationTypes = Record<string, unknown>;

  export interface ActionValidation {
    readonly types: ValidationTypes;
    readonly custom?: (data: Record<string, unknown>, store: Store) => string | undefined | null;
  }

  /** Drops unknown fields (mutating `data`) and returns a new object with the known ones type-checked. */
  export function checkTypes(data: Record<string, unknown>, types: ValidationTypes): Record<string, unknown>;
  export function checkValidations(
    data: Record<string, unknown>,
    types: ValidationTypes,
    custom: ActionValidation['custom'],
    store: Store,
  ): void;
}
