/**
 * The single DynamoDB table's key schema, shared by the CDK stack, the local runtime (which creates the
 * same table in dynalite) and the store adapter. The item layout per entity is in docs/data-model.md.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Generic inverted/secondary index; each entity documents what it puts in it. */
  indexes: [{ name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
  /** Epoch seconds after which DynamoDB may delete the item (idempotency records). */
  ttlAttribute: 'expiresAt',
} as const;

/** Table name used by the local runtime and tests; in AWS the stack passes the real one as TABLE_NAME. */
export const LOCAL_TABLE_NAME = 'parley';
