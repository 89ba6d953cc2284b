/**
 * The S3 bucket of Parley's copies of customers' media. Stateful like the table, so it lives in the data
 * stack and is retained; the stateless stack finds it by name (see docs/decisions/aws-stacks.md).
 */
import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import type { Access } from '../topology/topology.ts';
import { nagResource } from './nag.ts';

/**
 * The bucket's name: fixed per account and region (bucket names are global), made of pseudo parameters so
 * either stack can compute it without a cross-stack reference.
 */
export const mediaBucketName = (): string => `parley-media-${Aws.ACCOUNT_ID}-${Aws.REGION}`;

/**
 * What each topology access level may do. `s3:ListBucket` lets a missing key answer 404 instead of 403,
 * which the store reads as "no copy yet"; it is granted on this one bucket only.
 */
export const MEDIA_ACTIONS = {
  read: { objects: ['s3:GetObject'], bucket: ['s3:ListBucket'] },
  readWrite: { objects: ['s3:GetObject', 's3:PutObject'], bucket: ['s3:ListBucket'] },
  /** The eraser: deletes an erased contact's media, reads nothing. */
  delete: { objects: ['s3:DeleteObject'], bucket: [] },
} as const satisfies Record<NonNullable<Access['media']>, { objects: readonly string[]; bucket: readonly string[] }>;

export interface MediaBucketProps {
  /**
   * The bucket's physical name.
   * @default mediaBucketName()
   */
  readonly bucketName?: string;
}

export class MediaBucket extends Construct {
  /**
   * Grants `grantee` the actions of `level` on the bucket named `bucketName` and its objects. Works from
   * any stack: the bucket is found by name, not by reference.
   */
  public static grant(grantee: iam.IGrantable & IConstruct, bucketName: string, level: NonNullable<Access['media']>): void {
    const bucketArn = `arn:${Aws.PARTITION}:s3:::${bucketName}`;
    const objectsArn = `${bucketArn}/*`;
    iam.Grant.addToPrincipal({ grantee, actions: [...MEDIA_ACTIONS[level].objects], resourceArns: [objectsArn] });
    if (MEDIA_ACTIONS[level].bucket.length > 0)
      iam.Grant.addToPrincipal({ grantee, actions: [...MEDIA_ACTIONS[level].bucket], resourceArns: [bucketArn] });
    const policy = grantee.grantPrincipal instanceof iam.Role ? grantee.grantPrincipal.node.tryFindChild('DefaultPolicy') : undefined;
    if (policy) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(policy, Stack.of(policy).resolve(objectsArn) as string)}]`,
        reason:
          'Media objects are keyed <channel>/<account>/<hash of the provider media id>, created as customers send media: ' +
          'the grant covers the objects of this one bucket, which holds nothing else.',
      });
    }
  }

  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: MediaBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName ?? mediaBucketName(),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Keys are derived from the provider's media id and each is written with the same bytes every time:
      // versions would only keep duplicates, and make deleting a customer's media a two-step job.
      versioned: false,
      lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      // Customers' media is conversation history: a stack deletion must not drop it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the media copier and the API functions reach the bucket, through their own roles; their reads and writes ' +
        'are logged by the functions, and CloudTrail data events can be enabled for an audit without a second bucket of logs.',
    });
  }
}
