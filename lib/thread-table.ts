/**
 * The single DynamoDB table that holds contacts, identities, threads, messages, API keys and dedupe
 * markers. Its keys come from `topology/table.ts`, shared with the local runtime and the store adapter. Its
 * change stream is the outbox: every write's domain events reach the outbox relay through it.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';
import { API_KEY_PREFIX } from '../adapters/aws/store/access.ts';
import { TABLE_KEYS } from '../topology/table.ts';
import type { Access } from '../topology/topology.ts';

const stringKey = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

/** The table's name in AWS: fixed, so the stateless stack and operators' scripts find it without a cross-stack reference. */
export const TABLE_NAME = 'parley';

export interface ThreadTableProps {
  /**
   * The table's physical name.
   * @default TABLE_NAME
   */
  readonly tableName?: string;
}

/**
 * What each topology access level may do. Narrower than CDK's `grantReadData`/`grantReadWriteData`:
 * every read is a GetItem, a BatchGetItem or a Query (design.md), so no Scan, no streams, no DescribeTable.
 * TransactWriteItems has no IAM action of its own: each item of a transaction needs the action it performs
 * (PutItem, UpdateItem, DeleteItem, or ConditionCheckItem for a condition alone). Nothing batch-writes.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
 */
export const TABLE_ACTIONS = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
  ],
} as const satisfies Record<NonNullable<Access['table']>, readonly string[]>;

/** The writes `TABLE_ACTIONS.readWrite` adds to reading. */
export const TABLE_WRITE_ACTIONS = TABLE_ACTIONS.readWrite.filter(
  (action) => !(TABLE_ACTIONS.read as readonly string[]).includes(action),
) as readonly string[];

/**
 * `dynamodb:LeadingKeys` patterns of API key items (`adapters/aws/store/access.ts`): every API key item's
 * partition key starts with `APIKEY`, and the items the authorizer looks keys up by start with `APIKEY#HASH#`.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
 */
export const API_KEY_LEADING_KEYS = {
  any: `${API_KEY_PREFIX}*`,
  byHash: `${API_KEY_PREFIX}#HASH#*`,
} as const;

/** The table and index accesses of a function, as the topology names them. */
export type TableAccess = Pick<Access, 'table' | 'apiKeys'>;

export class ThreadTable extends Construct {
  /**
   * Grants `grantee` what `access` names on the table named `tableName`, found by name (so it works from any
   * stack), and on each of its indexes by name (no `index/*`):
   * - `table`: {@link TABLE_ACTIONS} of its level, on the table and its indexes;
   * - without `apiKeys: 'readWrite'`, an explicit deny of every write to an item whose partition key starts
   *   with `APIKEY`, so a function that writes conversations cannot mint or revoke integrator keys;
   * - `apiKeys`, where `table` does not already cover it: its level's actions on API key items alone (`read`:
   *   GetItem of a key by its hash, the authorizer's one lookup; `readWrite`: read and write every `APIKEY…`
   *   item).
   */
  public static grant(grantee: iam.IGrantable & IConstruct, tableName: string, access: TableAccess): void {
    const stack = Stack.of(grantee);
    const arn = (resourceName: string): string => stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName });
    const tableArn = arn(tableName);
    if (access.table) {
      iam.Grant.addToPrincipal({
        grantee,
        actions: [...TABLE_ACTIONS[access.table]],
        resourceArns: [tableArn, ...TABLE_KEYS.indexes.map((index) => arn(`${tableName}/index/${index.name}`))],
      });
    }
    if (access.table === 'readWrite' && access.apiKeys !== 'readWrite') {
      // ForAnyValue: a request that touches any API key item is refused, whatever else it touches.
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: [...TABLE_WRITE_ACTIONS],
          resources: [tableArn],
          conditions: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': [API_KEY_LEADING_KEYS.any] } },
        }),
      );
    }
    // What `table` does not already allow on API key items: ForAllValues, so every key a request names must
    // be one. Key items carry no index keys, so the table alone is the resource.
    const apiKeyActions =
      access.apiKeys === 'readWrite' && access.table !== 'readWrite'
        ? { actions: [...TABLE_ACTIONS.readWrite], leadingKeys: API_KEY_LEADING_KEYS.any }
        : access.apiKeys === 'read' && access.table === undefined
          ? { actions: ['dynamodb:GetItem'], leadingKeys: API_KEY_LEADING_KEYS.byHash }
          : undefined;
    if (apiKeyActions) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: apiKeyActions.actions,
          resources: [tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [apiKeyActions.leadingKeys] } },
        }),
      );
    }
  }

  public readonly table: dynamodb.TableV2;
  /** The change stream (new and old images), read by the functions whose topology entry has a `stream` trigger. */
  public readonly tableStreamArn: string;

  constructor(scope: Construct, id: string, props: ThreadTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: props.tableName ?? TABLE_NAME,
      partitionKey: stringKey(TABLE_KEYS.partitionKey),
      sortKey: stringKey(TABLE_KEYS.sortKey),
      globalSecondaryIndexes: TABLE_KEYS.indexes.map((index) => ({
        indexName: index.name,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      })),
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      // The outbox: the relay publishes the events a write recorded from the new image, and compares the old
      // one so an event that a later write kept is not published twice.
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      // Conversation history is the product: neither a stack deletion nor a console click may drop it.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const streamArn = this.table.tableStreamArn;
    if (streamArn === undefined) throw new Error(`Table ${this.node.path} must have a stream, but none was provided`);
    this.tableStreamArn = streamArn;
  }
}
