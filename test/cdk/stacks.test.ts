/**
 * The CDK stacks against the topology they render. One app is synthesized once for the whole file, with
 * bundling skipped and CloudFormation validation off (fast), cdk-nag on, and stub function entries in a
 * temporary project root so the tests need none of the real handlers. The real bundling, validation and
 * cfn-lint run in `.ci/run`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectors } from '../../connectors/registry.ts';
import { hasCredentials } from '../../domain/connector.ts';
import { MEDIA_CONTENT_TYPES } from '../../domain/content.ts';
import { buildParley, type ParleyStacks } from '../../lib/parley-app.ts';
import { TABLE_NAME } from '../../lib/thread-table.ts';
import { validateConsumerTimeout, WorkQueue } from '../../lib/work-queue.ts';
import { TABLE_KEYS } from '../../topology/table.ts';
import {
  ENABLED_CHANNELS,
  FUNCTIONS,
  MEDIA_CHANNELS,
  QUEUES,
  RULES,
  environmentOf,
  queueUrlVariable,
  type FunctionName,
  type FunctionSpec,
  type QueueName,
} from '../../topology/topology.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const ACCOUNT = '123456789012';
/** `parley-media-<account>-<region>`, from pseudo parameters in both stacks (no cross-stack reference). */
const MEDIA_BUCKET_NAME = { 'Fn::Join': ['', ['parley-media-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] } as const;
const REGION = 'eu-west-1';
const functionEntries = Object.entries(FUNCTIONS) as [FunctionName, FunctionSpec][];
const queueNames = Object.keys(QUEUES) as QueueName[];
const cdkContext = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;

/** A project root holding a lock file and an empty module for every topology entry. */
function stubProjectRoot(root: string): void {
  writeFileSync(join(root, 'package-lock.json'), '{}');
  for (const [, spec] of functionEntries) {
    mkdirSync(dirname(join(root, spec.entry)), { recursive: true });
    writeFileSync(join(root, spec.entry), 'export const handler = async () => undefined;\n');
  }
}

/** The Parley app as `cdk synth -c nag=true` builds it, minus bundling and CloudFormation validation. */
function synthParley(
  root: string,
  options: { context?: Record<string, unknown>; extend?: (stacks: ParleyStacks) => void } = {},
): { stacks: ParleyStacks; outdir: string; error?: Error } {
  const outdir = join(root, 'cdk.out');
  const app = new App({
    outdir,
    context: { ...cdkContext, 'aws:cdk:bundling-stacks': [], nag: 'true', account: ACCOUNT, region: REGION, ...options.context },
    builtinCloudFormationValidation: false,
  });
  const stacks = buildParley(app, { projectRoot: root });
  options.extend?.(stacks);
  try {
    app.synth();
    return { stacks, outdir };
  } catch (error) {
    // Validation runs after the templates are written, so they can still be inspected.
    return { stacks, outdir, error: error as Error };
  }
}

const TELEGRAM_FAKE = 'http://127.0.0.1:8081';

let root: string;
let stacks: ParleyStacks;
/** A second app: a provider base URL in context and a non-compliant queue for cdk-nag to find. */
let variant: { stacks: ParleyStacks; outdir: string; error?: Error; template: Template };
let synthError: Error | undefined;
let parley: Template;
let data: Template;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'parley-cdk-'));
  stubProjectRoot(root);
  const result = synthParley(root);
  stacks = result.stacks;
  synthError = result.error;
  const template = (name: string) => Template.fromJSON(JSON.parse(readFileSync(join(result.outdir, `${name}.template.json`), 'utf8')));
  parley = template('Parley');
  data = template('ParleyData');

  const probeRoot = join(root, 'variant');
  mkdirSync(probeRoot);
  stubProjectRoot(probeRoot);
  const probed = synthParley(probeRoot, {
    context: { telegramApiBaseUrl: TELEGRAM_FAKE },
    extend: ({ parley: stack }) => {
      new sqs.Queue(stack, 'NagProbe', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    },
  });
  variant = { ...probed, template: Template.fromJSON(JSON.parse(readFileSync(join(probed.outdir, 'Parley.template.json'), 'utf8'))) };
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const logicalId = (construct: IConstruct): string => {
  const element = construct.node.defaultChild as CfnElement;
  return Stack.of(construct).getLogicalId(element);
};
const resource = (template: Template, id: string): Resource => {
  const found = template.toJSON().Resources[id] as Resource | undefined;
  if (!found) throw new Error(`no resource ${id}`);
  return found;
};
const functionId = (name: FunctionName) => logicalId(stacks.parley.functions[name]);
const queueArn = (name: QueueName) => ({ 'Fn::GetAtt': [logicalId(stacks.parley.queues[name].queue), 'Arn'] });

/** Every Allow statement of the policies attached to a function's role. */
const allowed = (name: FunctionName): Statement[] => {
  const role = stacks.parley.functions[name].role;
  if (!role) throw new Error(`${name} has no role`);
  const roleId = logicalId(role);
  return Object.values(parley.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify((policy as Resource).Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => ((policy as Resource).Properties.PolicyDocument as { Statement: Statement[] }).Statement)
    .filter((statement) => statement.Effect === 'Allow');
};
const actionsOf = (name: FunctionName): string[] => allowed(name).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
const statementsWith = (name: FunctionName, action: string): Statement[] =>
  allowed(name).filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action));

describe('cdk-nag', () => {
  it('finds no unacknowledged AwsSolutions error in either stack', () => {
    expect(synthError?.message).toBeUndefined();
  });

  it('is really checking: a queue without encryption, TLS or DLQ fails the synth', () => {
    expect(variant.error?.message).toMatch(/AwsSolutions-SQS4/);
    expect(variant.error?.message).toMatch(/Parley\/NagProbe/);
    // Only the probe is reported: the rest of the stack stays clean with a provider override too.
    expect(variant.error?.message.match(/^ {3}Parley\S*/gm)?.every((path) => path.includes('NagProbe'))).toBe(true);
  });
});

describe('app', () => {
  it('takes the account and region from context', () => {
    expect(stacks.parley.account).toBe(ACCOUNT);
    expect(stacks.parley.region).toBe(REGION);
    expect(stacks.data.account).toBe(ACCOUNT);
  });

  it('deploys the data stack first and shares no cross-stack reference', () => {
    expect(stacks.parley.dependencies).toContain(stacks.data);
    expect(JSON.stringify(parley.toJSON())).not.toMatch(/Fn::ImportValue|Fn::GetStackOutput/);
  });
});

describe('functions', () => {
  it('has exactly one Lambda function per topology function', () => {
    parley.resourceCountIs('AWS::Lambda::Function', functionEntries.length);
  });

  it.each(functionEntries)('%s runs on Node.js 24, ARM, active tracing, JSON logs, with its topology settings', (name, spec) => {
    const props = resource(parley, functionId(name)).Properties;
    expect(props).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      Timeout: spec.timeoutSeconds,
      MemorySize: spec.memoryMb,
      Description: spec.description,
    });
    const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: TABLE_NAME,
      BUS_NAME: { Ref: logicalId(stacks.parley.bus.bus) },
      MEDIA_BUCKET: MEDIA_BUCKET_NAME,
      SECRET_PREFIX: 'parley/',
      ...environmentOf(spec),
    });
    // The URL of the queue it consumes, and of each queue it sends to: no others.
    const queueUrls = Object.fromEntries(Object.entries(variables).filter(([key]) => key.endsWith('QUEUE_URL')));
    expect(queueUrls).toEqual({
      ...(spec.queue && { QUEUE_URL: { Ref: logicalId(stacks.parley.queues[spec.queue].queue) } }),
      ...Object.fromEntries((spec.access.sendTo ?? []).map((q) => [queueUrlVariable(q), { Ref: logicalId(stacks.parley.queues[q].queue) }])),
    });
    // No provider base URL override unless one is given in context.
    expect(Object.keys(variables).filter((key) => key.endsWith('_API_BASE_URL'))).toEqual([]);
  });

  it('passes a provider base URL from context to every function', () => {
    const functions = Object.values(variant.template.findResources('AWS::Lambda::Function')) as Resource[];
    expect(functions).toHaveLength(functionEntries.length);
    for (const fn of functions) {
      expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.TELEGRAM_API_BASE_URL).toBe(TELEGRAM_FAKE);
    }
  });

  it('keeps every function log group for a limited time', () => {
    for (const [name] of functionEntries) {
      const logGroupRef = (resource(parley, functionId(name)).Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(resource(parley, logGroupRef).Properties.RetentionInDays, name).toBe(30);
    }
  });

  it('uses no AWS managed policy on any function role', () => {
    for (const role of Object.values(parley.findResources('AWS::IAM::Role'))) {
      expect((role as Resource).Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('HTTP API', () => {
  const topologyRoutes = functionEntries.flatMap(([name, spec]) => (spec.routes ?? []).map((route) => ({ name, route })));

  it('has one route per topology route, and nothing else', () => {
    parley.resourceCountIs('AWS::ApiGatewayV2::Route', topologyRoutes.length);
  });

  it.each(topologyRoutes.map(({ name, route }) => [`${route.method} ${route.path}`, name, route] as const))(
    '%s goes to %s with the right authorization',
    (routeKey, name, route) => {
      const routes = parley.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } });
      const [found] = Object.values(routes) as Resource[];
      expect(Object.keys(routes)).toHaveLength(1);
      const target = (found!.Properties.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      const integrationId = (target[1] as { Ref: string }).Ref;
      expect(resource(parley, integrationId).Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [functionId(name), 'Arn'] });
      if (route.auth === 'apiKey') {
        expect(found!.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: expect.any(String) } });
      } else {
        expect(found!.Properties.AuthorizationType).toBe('NONE');
      }
    },
  );

  it.each(ENABLED_CHANNELS)("routes GET and POST of every %s account's webhook URL to its webhook function, unauthenticated", (channel) => {
    // GET carries Meta's verification handshake: an account's callback URL that does not answer it cannot be subscribed.
    for (const method of ['GET', 'POST']) {
      for (const path of [`/webhooks/${channel}`, `/webhooks/${channel}/{accountId}`]) {
        const routes = Object.values(parley.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: `${method} ${path}` } })) as Resource[];
        expect(routes, `${method} ${path}`).toHaveLength(1);
        expect(routes[0]!.Properties.AuthorizationType).toBe('NONE');
        const target = (routes[0]!.Properties.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
        const integration = resource(parley, (target[1] as { Ref: string }).Ref);
        expect(integration.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [functionId(`webhook-${channel}`), 'Arn'] });
      }
    }
  });

  it('checks bearer keys with the authorizer function, simple responses, cached 5 minutes', () => {
    parley.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    parley.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['$request.header.Authorization'],
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      AuthorizerResultTtlInSeconds: 300,
    });
    const [authorizer] = Object.values(parley.findResources('AWS::ApiGatewayV2::Authorizer')) as Resource[];
    expect(JSON.stringify(authorizer!.Properties.AuthorizerUri)).toContain(functionId('authorizer'));
  });

  it('logs every request as JSON and throttles the default stage', () => {
    parley.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [logicalId(stacks.parley.api.accessLogs), 'Arn'] }, Format: Match.anyValue() },
    });
    const [stage] = Object.values(parley.findResources('AWS::ApiGatewayV2::Stage')) as Resource[];
    const format = JSON.parse((stage!.Properties.AccessLogSettings as { Format: string }).Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
    // Kakao may pass its secret as a query parameter: the query string must not reach the logs.
    expect(JSON.stringify(format)).not.toMatch(/querystring|\$context\.(path|resourcePath)WithQuery/i);
  });
});

describe('queues', () => {
  it.each(queueNames)('%s has a DLQ after maxReceiveCount receives, with retention and an alarm', (name) => {
    const spec = QUEUES[name];
    const workQueue = stacks.parley.queues[name];
    const dlqArn = { 'Fn::GetAtt': [logicalId(workQueue.deadLetterQueue), 'Arn'] };
    expect(resource(parley, logicalId(workQueue.queue)).Properties).toMatchObject({
      VisibilityTimeout: spec.visibilityTimeoutSeconds,
      RedrivePolicy: { deadLetterTargetArn: dlqArn, maxReceiveCount: spec.maxReceiveCount },
    });
    expect(resource(parley, logicalId(workQueue.deadLetterQueue)).Properties.MessageRetentionPeriod).toBe(
      Duration.days(spec.deadLetterRetentionDays).toSeconds(),
    );
    parley.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(workQueue.deadLetterQueue), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it.each(functionEntries.filter(([, spec]) => spec.queue !== undefined))(
    '%s consumes its queue in batches of the topology size, reporting partial failures',
    (name, spec) => {
      const queue = spec.queue!;
      parley.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: queueArn(queue),
        FunctionName: { Ref: functionId(name) },
        BatchSize: QUEUES[queue].batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      expect(QUEUES[queue].visibilityTimeoutSeconds).toBeGreaterThanOrEqual(spec.timeoutSeconds);
    },
  );

  it('encrypts every queue with SQS-managed keys and refuses requests without TLS', () => {
    const queues = parley.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(queueNames.length * 2);
    for (const [id, queue] of Object.entries(queues)) {
      expect((queue as Resource).Properties.SqsManagedSseEnabled, id).toBe(true);
      parley.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('refuses a consumer whose timeout exceeds the visibility timeout', () => {
    expect(() => validateConsumerTimeout('inbound', { ...QUEUES.inbound, visibilityTimeoutSeconds: 20 }, 30)).toThrow(
      "Queue inbound visibility timeout must be at least the consumer's timeout (30 s), but 20 was provided",
    );
    const stack = new Stack();
    expect(() => new WorkQueue(stack, 'Bad', { spec: { ...QUEUES.inbound, maxReceiveCount: 0 } })).toThrow(
      'Queue Bad maxReceiveCount must be an integer from 1 to 1000, but 0 was provided',
    );
  });
});

describe('event bus', () => {
  it('has one rule per topology rule, and an archive', () => {
    parley.resourceCountIs('AWS::Events::Rule', Object.keys(RULES).length);
    parley.resourceCountIs('AWS::Events::Archive', 1);
  });

  it.each(Object.entries(RULES))('%s matches the topology pattern and feeds its queue', (_name, spec) => {
    parley.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(stacks.parley.bus.bus) },
      EventPattern: Match.exact(JSON.parse(JSON.stringify(spec.pattern)) as Record<string, unknown>),
      Targets: [
        spec.input === 'detail'
          ? { Arn: queueArn(spec.target), Id: Match.anyValue(), InputPath: '$.detail' }
          : { Arn: queueArn(spec.target), Id: Match.anyValue() },
      ],
    });
  });
});

describe('table', () => {
  it('has the topology keys, index and TTL, on demand, with PITR and deletion protection, and is retained', () => {
    data.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    const [table] = Object.values(data.findResources('AWS::DynamoDB::GlobalTable')) as Resource[];
    expect(table!.DeletionPolicy).toBe('Retain');
    expect(table!.UpdateReplacePolicy).toBe('Retain');
    expect(table!.Properties).toMatchObject({
      TableName: TABLE_NAME,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: TABLE_KEYS.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
      TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        expect.objectContaining({
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
  });
});

describe('media bucket', () => {
  it('is private, TLS-only, encrypted, unversioned and retained, in the data stack under the name the functions get', () => {
    data.resourceCountIs('AWS::S3::Bucket', 1);
    parley.resourceCountIs('AWS::S3::Bucket', 0);
    const [bucket] = Object.values(data.findResources('AWS::S3::Bucket')) as Resource[];
    expect(bucket!.DeletionPolicy).toBe('Retain');
    expect(bucket!.Properties).toMatchObject({
      BucketName: MEDIA_BUCKET_NAME,
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(bucket!.Properties.VersioningConfiguration).toBeUndefined();
    data.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    data.hasOutput('MediaBucketName', { Value: { Ref: Match.anyValue() } });
  });

  it.each(MEDIA_CHANNELS)("is fed by a rule per channel that matches only that channel's received messages with media (%s)", (channel) => {
    expect(RULES[`to-media-copier-${channel}`]).toMatchObject({
      target: `media-${channel}`,
      pattern: { 'detail-type': ['message.received'], detail: { channel: [channel], content: { type: [...MEDIA_CONTENT_TYPES] } } },
    });
  });
});

describe('least privilege', () => {
  const can = (name: FunctionName, action: string) => actionsOf(name).includes(action);

  it.each(functionEntries)('%s gets exactly the table, bus, queue and secret access its topology entry names', (name, spec) => {
    const { access } = spec;
    expect(can(name, 'dynamodb:GetItem'), 'table read').toBe(access.table !== undefined);
    expect(can(name, 'dynamodb:Query'), 'table query').toBe(access.table !== undefined);
    for (const write of ['dynamodb:PutItem', 'dynamodb:UpdateItem']) expect(can(name, write), write).toBe(access.table === 'readWrite');
    // Parley never deletes or batch-writes: nobody may.
    for (const write of ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Scan']) expect(can(name, write), write).toBe(false);
    expect(can(name, 'events:PutEvents'), 'bus put').toBe(access.bus === 'put');
    expect(can(name, 's3:GetObject'), 'media read').toBe(access.media !== undefined);
    expect(can(name, 's3:PutObject'), 'media write').toBe(access.media === 'readWrite');
    // Copies are never deleted by a function, and no function gets S3 beyond the media bucket.
    expect(actionsOf(name).filter((a) => a.startsWith('s3:') && !['s3:GetObject', 's3:PutObject', 's3:ListBucket'].includes(a))).toEqual([]);
    for (const action of ['s3:GetObject', 's3:PutObject']) {
      for (const statement of statementsWith(name, action)) {
        expect(statement.Resource, `${name} ${action}`).toEqual({
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::parley-media-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }, '/*']],
        });
      }
    }
    for (const queue of queueNames) {
      // Merged statements (minimizePolicies) list several queues.
      const sends = statementsWith(name, 'sqs:SendMessage')
        .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
        .some((r) => JSON.stringify(r) === JSON.stringify(queueArn(queue)));
      expect(sends, `send to ${queue}`).toBe(access.sendTo?.includes(queue) ?? false);
    }
    // Statements with the same actions are merged (minimizePolicies), so count resources, not statements.
    const secretResources = statementsWith(name, 'secretsmanager:GetSecretValue')
      .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
      .map((r) => JSON.stringify(r));
    expect(secretResources).toHaveLength(access.secrets?.length ?? 0);
    for (const channel of access.secrets ?? []) {
      expect(secretResources.some((r) => r.includes(`:secret:parley/${channel}/*`)), `${channel} secrets`).toBe(true);
    }
    for (const action of ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue']) {
      const resources = statementsWith(name, action).flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
      expect(resources, action).toHaveLength(access.manageSecrets?.length ?? 0);
    }
    expect(actionsOf(name), 'no function deletes a secret').not.toContain('secretsmanager:DeleteSecret');
  });

  it("lets the API keep registered accounts' credentials but never replace a default account's", () => {
    const role = stacks.parley.functions.api.role;
    const roleId = logicalId(role!);
    const denied = Object.values(parley.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify((policy as Resource).Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((policy) => ((policy as Resource).Properties.PolicyDocument as { Statement: Statement[] }).Statement)
      .filter((statement) => statement.Effect === 'Deny');
    const deniedSecrets = denied.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource])).map((r) => JSON.stringify(r));
    for (const channel of ENABLED_CHANNELS) {
      expect(deniedSecrets).toContain(JSON.stringify({ Ref: logicalId(stacks.parley.secrets.secrets[channel]!) }));
    }
    expect(denied.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))).toContain('secretsmanager:PutSecretValue');
    // It creates secrets only with its tag, and replaces only those that carry it.
    const creating = [...statementsWith('api', 'secretsmanager:CreateSecret'), ...statementsWith('api', 'secretsmanager:TagResource')];
    expect(creating.length).toBeGreaterThan(0);
    for (const statement of creating) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'aws:RequestTag/parley:managed-by': 'integrator-api' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['parley:managed-by'] },
      });
    }
    for (const statement of statementsWith('api', 'secretsmanager:PutSecretValue')) {
      expect(statement.Condition).toEqual({ StringEquals: { 'secretsmanager:ResourceTag/parley:managed-by': 'integrator-api' } });
    }
    expect(statementsWith('api', 'secretsmanager:PutSecretValue').length).toBeGreaterThan(0);
  });

  it('lets no function scan the table or use a wildcard on it', () => {
    for (const [name] of functionEntries) {
      expect(actionsOf(name), name).not.toContain('dynamodb:Scan');
      for (const statement of statementsWith(name, 'dynamodb:GetItem')) {
        expect(JSON.stringify(statement.Resource), name).not.toContain('/index/*');
      }
    }
  });

  it("gives each channel's sender and media copier that channel's secrets alone", () => {
    for (const channel of ENABLED_CHANNELS) {
      const secretResources = statementsWith(`sender-${channel}`, 'secretsmanager:GetSecretValue').flatMap((s) =>
        Array.isArray(s.Resource) ? s.Resource : [s.Resource],
      );
      expect(JSON.stringify(secretResources)).toContain(`:secret:parley/${channel}/*`);
      expect(secretResources).toHaveLength(1);
    }
    for (const channel of MEDIA_CHANNELS) {
      expect(JSON.stringify(statementsWith(`media-copier-${channel}`, 'secretsmanager:GetSecretValue'))).toContain(`:secret:parley/${channel}/*`);
    }
  });

  it('lets every function that reads secrets list their names (never values), so made-up account ids read none', () => {
    for (const [name, spec] of functionEntries) {
      const listing = statementsWith(name, 'secretsmanager:ListSecrets');
      expect(listing.length > 0, name).toBe((spec.access.secrets ?? []).length > 0);
      for (const statement of listing) {
        // The action has no resource-level scope: no other secrets action may ride on its `*`.
        const secretsActions = [statement.Action].flat().filter((action) => String(action).startsWith('secretsmanager:'));
        expect(secretsActions, name).toEqual(['secretsmanager:ListSecrets']);
      }
    }
  });

  it('keeps the webhook away from the table and the thread writer off the bus', () => {
    for (const channel of ENABLED_CHANNELS) {
      expect(actionsOf(`webhook-${channel}`).filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    }
    expect(can('thread-writer', 'events:PutEvents')).toBe(false);
    expect(actionsOf('thread-writer').filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    expect(actionsOf('authorizer').filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(
      ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
    );
  });
});

describe('channel secrets', () => {
  it.each(ENABLED_CHANNELS)('%s has a secret for its default account that leaves the channel unconfigured until filled', (channel) => {
    const { inbound, outbound } = connectors[channel].credentialNames;
    const secrets = Object.values(parley.findResources('AWS::SecretsManager::Secret')).filter(
      (r) => (r as { Properties: { Name: string } }).Properties.Name === `parley/${channel}/default`,
    );
    expect(secrets).toHaveLength(1);
    const generate = (secrets[0] as { Properties: { GenerateSecretString: { SecretStringTemplate: string; GenerateStringKey: string } } })
      .Properties.GenerateSecretString;
    // What the secret holds right after a deploy: the template plus one generated value.
    const placeholder = { ...JSON.parse(generate.SecretStringTemplate), [generate.GenerateStringKey]: 'x'.repeat(48) } as Record<string, string>;
    expect(Object.keys(placeholder)).toEqual(expect.arrayContaining([...inbound, ...outbound]));
    expect(hasCredentials(placeholder, inbound)).toBe(false); // so the webhook answers 404
  });

  it('has no secret for a channel that is not enabled', () => {
    parley.resourceCountIs('AWS::SecretsManager::Secret', ENABLED_CHANNELS.length);
  });
});

describe('undeliverable events', () => {
  it("sends an event EventBridge could not deliver to its target queue's dead-letter queue", () => {
    const rules = Object.values(parley.findResources('AWS::Events::Rule')) as { Properties: { Targets: { DeadLetterConfig?: unknown }[] } }[];
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) for (const target of rule.Properties.Targets) expect(target.DeadLetterConfig).toBeDefined();
  });
});

describe('outputs', () => {
  it('names the API, each webhook URL, the bus, the secrets and the dead-letter queues', () => {
    const outputs = Object.keys(parley.toJSON().Outputs as Record<string, unknown>);
    expect(outputs.filter((o) => o.endsWith('DeadLetterQueueArn'))).toHaveLength(queueNames.length);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'EventBusName',
        ...ENABLED_CHANNELS.flatMap((c) => [`${c[0]!.toUpperCase()}${c.slice(1)}WebhookUrl`, `${c[0]!.toUpperCase()}${c.slice(1)}SecretName`]),
        'InboundDeadLetterQueueArn',
        'OutboundTelegramDeadLetterQueueArn',
        'MediaWhatsappDeadLetterQueueArn',
      ]),
    );
    data.hasOutput('TableName', { Value: { Ref: Match.anyValue() } });
  });

  it('are the outputs docs/deploy.md names, no more and no fewer', () => {
    const outputs = [parley, data].flatMap((t) => Object.keys(t.toJSON().Outputs as Record<string, unknown>));
    const deployMd = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
    // Output names as the document writes them: `TableName`, `Outbound<Channel>DeadLetterQueueArn`, …
    const named = [...deployMd.matchAll(/`([A-Z<][\w<>]*(?:Arn|Url|Name))`/g)].map((m) => m[1] as string);
    const pattern = (name: string) => new RegExp(`^${name.replace('<Channel>', '[A-Z][a-z]+')}$`);
    for (const name of named) {
      expect(outputs.filter((o) => pattern(name).test(o)), `docs/deploy.md names ${name}`).not.toHaveLength(0);
    }
    for (const output of outputs) expect(named.some((name) => pattern(name).test(output)), `docs/deploy.md leaves out ${output}`).toBe(true);
  });
});
