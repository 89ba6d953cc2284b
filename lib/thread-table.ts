/**
 * The single DynamoDB table that holds contacts, identities, threads, messages, API keys and dedupe
 * markers. Its keys come from `topology/table.ts`, shared with the local runtime and the store adapter.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';
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
 * every read is a GetItem or a Query (design.md), so no Scan, no streams, no DescribeTable.
 */
export const TABLE_ACTIONS = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
  ],
} as const satisfies Record<NonNullable<Access['table']>, readonly string[]>;

export class ThreadTable extends Construct {
  /**
   * Grants `grantee` the actions of `level` on the table named `tableName` and on each of its indexes
   * by name (no `index/*`). Works from any stack: the table is found by name, not by reference.
   */
  public static grant(grantee: iam.IGrantable & IConstruct, tableName: string, level: NonNullable<Access['table']>): iam.Grant {
    const stack = Stack.of(grantee);
    const arn = (resourceName: string): string => stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...TABLE_ACTIONS[level]],
      resourceArns: [arn(tableName), ...TABLE_KEYS.indexes.map((index) => arn(`${tableName}/index/${index.name}`))],
    });
  }

  public readonly table: dynamodb.TableV2;

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
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      // Conversation history is the product: neither a stack deletion nor a console click may drop it.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
