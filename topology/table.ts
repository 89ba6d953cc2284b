/**
 * The single DynamoDB table's key schema, shared by the CDK stack, the local runtime (which creates the
 * same table in its engine) and the store adapters. The item layout per entity is in docs/data-model.md.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Secondary indexes, projection ALL; each entity documents what it puts in them. */
  indexes: [
    /** The inbox: threads by status (`INBOX#<status>`), newest activity first. */
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    /** Contacts by phone number (`PHONE#<e164>`), and further lookups as features need them. */
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    /** Contacts by email (`EMAIL#<address>`), and further lookups as features need them. */
    { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  ],
  /** Epoch seconds after which DynamoDB may delete the item (messages past retention, idempotency records). */
  ttlAttribute: 'ttl',
} as const;

/** Table name used by the local runtime and tests; in AWS the stack passes the real one as TABLE_NAME. */
export const LOCAL_TABLE_NAME = 'parley';

/**
 * The partition holding every outgoing webhook subscription. The outbox relay also reads the stream records of
 * this partition, to drop its cached list of subscriptions as soon as one changes.
 */
export const SUBSCRIPTIONS_PARTITION = 'WEBHOOKS';
