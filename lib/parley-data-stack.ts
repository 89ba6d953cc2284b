/**
 * The stateful part of Parley, in a stack of its own so that the stateless stack can be torn down and
 * redeployed without touching the data.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { MediaBucket, mediaBucketName } from './media-bucket.ts';
import { TABLE_NAME, ThreadTable } from './thread-table.ts';

export interface ParleyDataStackProps extends StackProps {
  /**
   * The table's physical name.
   * @default TABLE_NAME
   */
  readonly tableName?: string;
}

export class ParleyDataStack extends Stack {
  public readonly table: dynamodb.TableV2;
  /** The table's name as a plain string: the stateless stack finds the table by it, not by a cross-stack reference. */
  public readonly tableName: string;
  /**
   * The table's change stream (the outbox). Unlike the name, its ARN ends in a creation timestamp nobody can
   * compute, so the stateless stack gets it through a cross-stack reference (see `ParleyStackProps.tableStreamArn`).
   */
  public readonly tableStreamArn: string;
  /** Parley's copies of customers' media. */
  public readonly mediaBucket: s3.Bucket;
  /** The bucket's name; like the table, the stateless stack finds it by name. */
  public readonly mediaBucketName: string;

  constructor(scope: Construct, id: string, props: ParleyDataStackProps = {}) {
    super(scope, id, props);
    this.tableName = props.tableName ?? TABLE_NAME;
    const threads = new ThreadTable(this, 'Threads', { tableName: this.tableName });
    this.table = threads.table;
    this.tableStreamArn = threads.tableStreamArn;
    this.mediaBucketName = mediaBucketName();
    this.mediaBucket = new MediaBucket(this, 'Media', { bucketName: this.mediaBucketName }).bucket;
    new CfnOutput(this, 'MediaBucketName', {
      description: "S3 bucket of Parley's copies of customers' media",
      value: this.mediaBucket.bucketName,
    });
    new CfnOutput(this, 'TableName', {
      description: 'DynamoDB table of contacts, threads, messages and API keys',
      value: this.table.tableName,
    });
    new CfnOutput(this, 'TableStreamArn', {
      description: "The table's change stream (new and old images), which the outbox relay reads",
      value: this.tableStreamArn,
    });
  }
}
