/**
 * The CDK stacks against the topology they render. One app is synthesized once for the whole file, with
 * bundling skipped and CloudFormation validation off (fast), cdk-nag on, and stub function entries in a
 * temporary project root so the tests need none of the real handlers. The real bundling, validation and
 * cfn-lint run in `.ci/run`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE as POWERTOOLS_NAMESPACE } from '../../functions/kit/powertools.ts';
import { DynamoApiKeyStore } from '../../adapters/aws/store/access.ts';
import type { DynamoTable, Key, TableWrite } from '../../adapters/aws/store/table.ts';
import { connectors } from '../../connectors/registry.ts';
import { hasCredentials } from '../../domain/connector.ts';
import { MEDIA_CONTENT_TYPES } from '../../domain/content.ts';
import { METRICS } from '../../functions/kit/observability.ts';
import { ParleyHttpApi } from '../../lib/http-api.ts';
import { MESSAGES_FAILED_METRIC, validateMessagesFailedSources } from '../../lib/messages-failed-alarm.ts';
import { buildParley, type ParleyStacks } from '../../lib/parley-app.ts';
import { METRICS_NAMESPACE, ParleyFunction } from '../../lib/parley-function.ts';
import { PUBLIC_DOCUMENT_REASON, WEBHOOK_ROUTE_REASON } from '../../lib/parley-stack.ts';
import { ScheduledInvocation, validateSchedule } from '../../lib/scheduled-invocation.ts';
import { validateStreamTrigger } from '../../lib/stream-consumer.ts';
import { API_KEY_LEADING_KEYS, TABLE_NAME, ThreadTable } from '../../lib/thread-table.ts';
import { TraceSampling } from '../../lib/trace-sampling.ts';
import { validateConsumerTimeout, validateQueueSpec, WorkQueue } from '../../lib/work-queue.ts';
import { TABLE_KEYS } from '../../topology/table.ts';
import {
  ENABLED_CHANNELS,
  FUNCTIONS,
  MEDIA_CHANNELS,
  QUEUES,
  RULES,
  environmentOf,
  outboundQueueOf,
  queueUrlVariable,
  type FunctionName,
  type FunctionSpec,
  type QueueName,
  type StreamTrigger,
} from '../../topology/topology.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const ACCOUNT = '123456789012';
/** `parley-media-<account>-<region>`, from pseudo parameters in both stacks (no cross-stack reference). */
const MEDIA_BUCKET_NAME = { 'Fn::Join': ['', ['parley-media-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] } as const;
const REGION = 'eu-west-1';
const functionEntries = Object.entries(FUNCTIONS) as [FunctionName, FunctionSpec][];
const queueNames = Object.keys(QUEUES) as QueueName[];
/** Queues a function consumes; the others are parked (nothing consumes them). */
const consumedQueues = new Set(functionEntries.flatMap(([, spec]) => (spec.queue ? [spec.queue] : [])));
const streamFunctions = functionEntries.filter(([, spec]) => spec.stream !== undefined);
const cdkContext = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> })
  .context;

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
const ALARM_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:parley-alarms`;

let root: string;
let stacks: ParleyStacks;
/** A second app: a provider base URL and an alarm topic in context, and a non-compliant queue for cdk-nag to find. */
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
    context: { telegramApiBaseUrl: TELEGRAM_FAKE, alarmTopicArn: ALARM_TOPIC },
    extend: ({ parley: stack }) => {
      new sqs.Queue(stack, 'NagProbe', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    },
  });
  variant = { ...probed, template: Template.fromJSON(JSON.parse(readFileSync(join(probed.outdir, 'Parley.template.json'), 'utf8'))) };
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** An app for a construct test: the project's feature flags, no bundling, no CloudFormation validation (slow). */
const testApp = (): App => new App({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });

/** A function for construct tests that need one but not its code. */
const inlineFunction = (stack: Stack): lambda.Function =>
  new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => undefined;'),
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

/** Every statement of the policies attached to a function's role. */
const statementsOf = (name: FunctionName): Statement[] => {
  const role = stacks.parley.functions[name].role;
  if (!role) throw new Error(`${name} has no role`);
  const roleId = logicalId(role);
  return Object.values(parley.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify((policy as Resource).Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => ((policy as Resource).Properties.PolicyDocument as { Statement: Statement[] }).Statement);
};
/** Every Allow statement of the policies attached to a function's role. */
const allowed = (name: FunctionName): Statement[] => statementsOf(name).filter((statement) => statement.Effect === 'Allow');
const denied = (name: FunctionName): Statement[] => statementsOf(name).filter((statement) => statement.Effect === 'Deny');
const actionList = (statement: Statement): string[] => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]);
const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TABLE_NAME}`;
const TABLE_WRITES = ['dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
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

  it("deploys the data stack first and shares one cross-stack reference, the table's stream ARN, without an export", () => {
    expect(stacks.parley.dependencies).toContain(stacks.data);
    const template = JSON.stringify(parley.toJSON());
    // An export would lock the data stack's stream until this stack let go of it.
    expect(template).not.toMatch(/Fn::ImportValue/);
    const references = [...new Set(template.match(/\{"Fn::GetStackOutput":\{[^}]*\}\}/g))].map(
      (json) =>
        (JSON.parse(json) as { 'Fn::GetStackOutput': { StackName: string; OutputName: string; Region: string } })['Fn::GetStackOutput'],
    );
    expect(references).toEqual([{ StackName: 'ParleyData', OutputName: expect.any(String), Region: REGION }]);
    const output = (data.toJSON().Outputs as Record<string, { Value: unknown }>)[references[0]!.OutputName];
    expect(output?.Value).toEqual({ 'Fn::GetAtt': [logicalId(stacks.data.table), 'StreamArn'] });
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
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) }, ApplicationLogLevel: 'INFO' },
      Timeout: spec.timeoutSeconds,
      MemorySize: spec.memoryMb,
      Description: spec.description,
    });
    const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      // Powertools: the service name is the metrics' `service` dimension, which the alarms name.
      POWERTOOLS_SERVICE_NAME: name,
      POWERTOOLS_METRICS_NAMESPACE: POWERTOOLS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: (props.LoggingConfig as { ApplicationLogLevel: string }).ApplicationLogLevel,
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
      ...Object.fromEntries(
        (spec.access.sendTo ?? []).map((q) => [queueUrlVariable(q), { Ref: logicalId(stacks.parley.queues[q].queue) }]),
      ),
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
        const routes = Object.values(
          parley.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: `${method} ${path}` } }),
        ) as Resource[];
        expect(routes, `${method} ${path}`).toHaveLength(1);
        expect(routes[0]!.Properties.AuthorizationType).toBe('NONE');
        const target = (routes[0]!.Properties.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
        const integration = resource(parley, (target[1] as { Ref: string }).Ref);
        expect(integration.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [functionId(`webhook-${channel}`), 'Arn'] });
      }
    }
  });

  it('routes every method of the integrator API to the API function, and its OpenAPI document to api-docs without a key', () => {
    const routeKeys = (name: FunctionName) => (FUNCTIONS[name] as FunctionSpec).routes?.map((r) => `${r.method} ${r.path} ${r.auth}`);
    // Every method, so a wrong one is answered 405 with Allow by the API rather than 404 by API Gateway.
    expect(routeKeys('api')).toEqual(['ANY /v1/{proxy+} apiKey']);
    expect(routeKeys('api-docs')).toEqual(['GET /v1/openapi.json none']);
    parley.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /v1/{proxy+}', AuthorizationType: 'CUSTOM' });
    parley.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /v1/openapi.json', AuthorizationType: 'NONE' });
  });

  it('acknowledges each unauthenticated route for cdk-nag with the reason that fits it', () => {
    const reasonOf = (routeId: string) => {
      const route = stacks.parley.api.node.findChild(routeId);
      const entry = route.node.metadata.find((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
      return (entry?.data as Record<string, string> | undefined)?.['Annotation::AwsSolutions-APIG4'];
    };
    expect(reasonOf('GETV1OpenapiJson')).toBe(PUBLIC_DOCUMENT_REASON);
    expect(reasonOf('POSTWebhooksTelegram')).toBe(WEBHOOK_ROUTE_REASON);
    expect(reasonOf('POSTWebhooksWhatsappAccountId')).toBe(WEBHOOK_ROUTE_REASON);
    expect(reasonOf('ANYV1Proxy')).toBeUndefined();
  });

  it('refuses a route without an authorizer unless a reason is given', () => {
    const stack = new Stack();
    const fn = inlineFunction(stack);
    const api = new ParleyHttpApi(stack, 'Api', { authorizer: fn });
    expect(() => api.addRoutes(fn, [{ method: 'GET', path: '/public', auth: 'none' }])).toThrow(
      'Route GET /public has no authorizer, so it needs an unauthenticatedReason, but none was provided',
    );
  });

  it('checks bearer keys with the authorizer function, simple responses, cached 1 minute so a revoked key stops within a minute', () => {
    parley.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    parley.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['$request.header.Authorization'],
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      AuthorizerResultTtlInSeconds: 60,
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
    '%s consumes its queue in batches of the topology size and batching window, reporting partial failures',
    (name, spec) => {
      const queue = spec.queue!;
      const mappings = Object.values(
        parley.findResources('AWS::Lambda::EventSourceMapping', { Properties: { EventSourceArn: queueArn(queue) } }),
      ) as Resource[];
      expect(mappings).toHaveLength(1);
      expect(mappings[0]!.Properties).toEqual({
        EventSourceArn: queueArn(queue),
        FunctionName: { Ref: functionId(name) },
        BatchSize: QUEUES[queue].batchSize,
        ...(QUEUES[queue].batchingWindowSeconds !== undefined && { MaximumBatchingWindowInSeconds: QUEUES[queue].batchingWindowSeconds }),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        // Background work (campaigns) runs at most two batches at once.
        ...(QUEUES[queue].background && { ScalingConfig: { MaximumConcurrency: 2 } }),
      });
      expect(QUEUES[queue].visibilityTimeoutSeconds).toBeGreaterThanOrEqual(spec.timeoutSeconds);
    },
  );

  it('waits a second to fill a batch of the inbound queue', () => {
    parley.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: queueArn('inbound'),
      MaximumBatchingWindowInSeconds: 1,
    });
  });

  it.each(queueNames)('%s has an alarm on the queue itself exactly when nothing consumes it', (name) => {
    const workQueue = stacks.parley.queues[name];
    const onQueue = parley.findResources('AWS::CloudWatch::Alarm', {
      Properties: { Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(workQueue.queue), 'QueueName'] } }] },
    });
    expect(Object.keys(onQueue)).toHaveLength(consumedQueues.has(name) ? 0 : 1);
    const consumers = parley.findResources('AWS::Lambda::EventSourceMapping', { Properties: { EventSourceArn: queueArn(name) } });
    expect(Object.keys(consumers)).toHaveLength(consumedQueues.has(name) ? 1 : 0);
    for (const alarm of Object.values(onQueue) as Resource[]) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
      });
    }
  });

  it('parks what the outbox relay cannot publish in a queue nothing consumes, with an alarm', () => {
    expect(consumedQueues.has('outbox-parked')).toBe(false);
    expect(stacks.parley.queues['outbox-parked'].parkedAlarm).toBeDefined();
    expect(FUNCTIONS['outbox-relay'].access.sendTo).toContain('outbox-parked');
  });

  it('encrypts every queue with SQS-managed keys and refuses requests without TLS', () => {
    const queues = parley.findResources('AWS::SQS::Queue');
    // Each work queue and its dead-letter queue, and each stream trigger's dead-letter destination.
    expect(Object.keys(queues)).toHaveLength(queueNames.length * 2 + streamFunctions.length);
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

  it('refuses a batching window Lambda does not allow, and more than 10 messages a batch without one', () => {
    const spec = { visibilityTimeoutSeconds: 60, maxReceiveCount: 5, deadLetterRetentionDays: 14 };
    expect(() => validateQueueSpec('inbound', { ...spec, batchSize: 10, batchingWindowSeconds: 301 })).toThrow(
      'Queue inbound batching window must be an integer from 0 to 300 seconds, but 301 was provided',
    );
    expect(() => validateQueueSpec('inbound', { ...spec, batchSize: 10, batchingWindowSeconds: 0.5 })).toThrow(
      'Queue inbound batching window must be an integer from 0 to 300 seconds, but 0.5 was provided',
    );
    expect(() => validateQueueSpec('inbound', { ...spec, batchSize: 20 })).toThrow(
      'Queue inbound batch size must be an integer from 1 to 10 (above 10 needs a batching window of at least 1 second), but 20 was provided',
    );
    expect(() => validateQueueSpec('inbound', { ...spec, batchSize: 20, batchingWindowSeconds: 0 })).toThrow(/but 20 was provided/);
    expect(() => validateQueueSpec('inbound', { ...spec, batchSize: 20, batchingWindowSeconds: 1 })).not.toThrow();
    expect(() => validateQueueSpec('inbound', { ...spec, batchSize: 10_001, batchingWindowSeconds: 1 })).toThrow(
      'Queue inbound batch size must be an integer from 1 to 10000, but 10001 was provided',
    );
  });

  it('refuses a consumer for a parked queue', () => {
    const stack = new Stack(testApp(), 'Queues');
    const fn = inlineFunction(stack);
    const parked = new WorkQueue(stack, 'OutboxParked', { spec: QUEUES['outbox-parked'], parked: true });
    expect(() => parked.addConsumer(fn, Duration.seconds(5))).toThrow(
      'Queue OutboxParked is parked, so it must have no consumer, but Fn was provided',
    );
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
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
  it('has the indexes and TTL attribute the store adapter queries and writes', () => {
    // adapters/aws/store/conversations.ts: the inbox (gsi1), contacts by phone (gsi2) and by e-mail (gsi3).
    expect(TABLE_KEYS.indexes).toEqual([
      { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
      { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
      { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
    ]);
    // Not `expiresAt`, which records keep as an ISO string: TTL needs epoch seconds.
    expect(TABLE_KEYS.ttlAttribute).toBe('ttl');
  });

  it('streams new and old images of every write: the outbox', () => {
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
    data.hasOutput('TableStreamArn', { Value: { 'Fn::GetAtt': [logicalId(stacks.data.table), 'StreamArn'] } });
  });

  it('has the topology keys, indexes and TTL, on demand, with PITR and deletion protection, and is retained', () => {
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
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
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
    expect(can(name, 'dynamodb:GetItem'), 'table read').toBe(access.table !== undefined || access.apiKeys !== undefined);
    expect(can(name, 'dynamodb:BatchGetItem'), 'table batch read').toBe(access.table !== undefined || access.apiKeys === 'readWrite');
    expect(can(name, 'dynamodb:Query'), 'table query').toBe(access.table !== undefined || access.apiKeys === 'readWrite');
    // Transactions need the action of each item they write, or check.
    for (const write of TABLE_WRITES) expect(can(name, write), write).toBe(access.table === 'readWrite' || access.apiKeys === 'readWrite');
    // Parley never batch-writes or scans: nobody may.
    for (const action of ['dynamodb:BatchWriteItem', 'dynamodb:Scan', 'dynamodb:PartiQLUpdate'])
      expect(can(name, action), action).toBe(false);
    // Only a stream-triggered function reads the stream.
    for (const action of ['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream', 'dynamodb:ListStreams']) {
      expect(can(name, action), action).toBe(spec.stream !== undefined);
    }
    expect(can(name, 'events:PutEvents'), 'bus put').toBe(access.bus === 'put');
    expect(can(name, 's3:GetObject'), 'media read').toBe(access.media === 'read' || access.media === 'readWrite');
    expect(can(name, 's3:DeleteObject'), 'media delete').toBe(access.media === 'delete');
    expect(can(name, 's3:PutObject'), 'media write').toBe(access.media === 'readWrite');
    // Copies are deleted by the eraser alone, and no function gets S3 beyond the media bucket.
    expect(
      actionsOf(name).filter(
        (a) => a.startsWith('s3:') && !['s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:DeleteObject'].includes(a),
      ),
    ).toEqual([]);
    for (const action of ['s3:GetObject', 's3:PutObject']) {
      for (const statement of statementsWith(name, action)) {
        expect(statement.Resource, `${name} ${action}`).toEqual({
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':s3:::parley-media-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }, '/*'],
          ],
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
    // Each channel's secrets DevOps made, and those the integrator API made.
    expect(secretResources).toHaveLength(2 * (access.secrets?.length ?? 0));
    for (const channel of access.secrets ?? []) {
      expect(
        secretResources.some((r) => r.includes(`:secret:parley/${channel}/*`)),
        `${channel} secrets`,
      ).toBe(true);
      expect(
        secretResources.some((r) => r.includes(`:secret:parley/api/${channel}/*`)),
        `${channel} API secrets`,
      ).toBe(true);
    }
    for (const action of ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue']) {
      const resources = statementsWith(name, action).flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
      expect(resources, action).toHaveLength(access.manageSecrets?.length ?? 0);
    }
    expect(actionsOf(name), 'no function deletes a secret').not.toContain('secretsmanager:DeleteSecret');
  });

  it("lets the API keep registered accounts' credentials under its own prefix, never touching a secret DevOps made", () => {
    const writing = ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue'].flatMap((action) => statementsWith('api', action));
    expect(writing.length).toBeGreaterThan(0);
    for (const statement of writing) {
      const resources = (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).map((r) => JSON.stringify(r));
      for (const resource of resources) expect(resource).toMatch(/:secret:parley\/api\/[a-z]+\/\*/);
    }
    // Nothing that could widen that: no tagging (tag-based conditions), no resource policies, no deleting.
    for (const action of [
      'secretsmanager:TagResource',
      'secretsmanager:UntagResource',
      'secretsmanager:PutResourcePolicy',
      'secretsmanager:UpdateSecret',
      'secretsmanager:DeleteSecret',
    ]) {
      expect(actionsOf('api'), action).not.toContain(action);
    }
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
      expect(JSON.stringify(secretResources)).toContain(`:secret:parley/api/${channel}/*`);
      expect(secretResources).toHaveLength(2);
    }
    for (const channel of MEDIA_CHANNELS) {
      expect(JSON.stringify(statementsWith(`media-copier-${channel}`, 'secretsmanager:GetSecretValue'))).toContain(
        `:secret:parley/${channel}/*`,
      );
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
    expect(actionsOf('authorizer').filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:GetItem']);
  });
});

/** IAM's StringLike: `*` is any run of characters, `?` any one, case-sensitive. */
const stringLike = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  ).test(value);

describe('API key items (dynamodb:LeadingKeys)', () => {
  const writers = functionEntries.filter(([, spec]) => spec.access.table === 'readWrite' && spec.access.apiKeys !== 'readWrite');

  it('applies to the table writers without API key access, the authorizer and the API', () => {
    expect(writers.map(([name]) => name)).toEqual(expect.arrayContaining(['thread-writer', 'sender-telegram', 'media-copier-line']));
    expect(FUNCTIONS.authorizer.access).toEqual({ apiKeys: 'read' });
    expect(FUNCTIONS.api.access).toMatchObject({ table: 'readWrite', apiKeys: 'readWrite' });
  });

  it.each(writers)('%s may write the table but no item whose partition key starts with APIKEY', (name) => {
    expect(denied(name).filter((s) => actionList(s).some((a) => a.startsWith('dynamodb:')))).toEqual([
      {
        Effect: 'Deny',
        Action: TABLE_WRITES,
        Resource: TABLE_ARN,
        Condition: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['APIKEY*'] } },
      },
    ]);
  });

  it('lets the authorizer get an item by key hash, and nothing else of the table', () => {
    expect(allowed('authorizer').filter((s) => actionList(s).some((a) => a.startsWith('dynamodb:')))).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: TABLE_ARN,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APIKEY#HASH#*'] } },
      },
    ]);
    expect(denied('authorizer')).toEqual([]);
  });

  it('lets the API write API key items (its admin routes make and revoke keys)', () => {
    expect(denied('api').filter((s) => actionList(s).some((a) => a.startsWith('dynamodb:')))).toEqual([]);
    const writes = statementsWith('api', 'dynamodb:PutItem');
    expect(writes).toHaveLength(1);
    expect(writes[0]!.Condition).toBeUndefined();
  });

  it('matches the keys the store gives API key items, and no other item', async () => {
    // The store's real keys: capture what DynamoApiKeyStore reads and writes.
    const keys: Key[] = [];
    const fakeTable = {
      get: async (key: Key) => {
        keys.push(key);
        return undefined;
      },
      query: async (input: { ExpressionAttributeValues: Record<string, string> }) => {
        keys.push({ pk: input.ExpressionAttributeValues[':pk']!, sk: '' });
        return { items: [] };
      },
      commit: async (writes: readonly TableWrite[]) => {
        for (const write of writes) keys.push(write.op === 'put' ? write.item : write.key);
      },
    } as unknown as DynamoTable;
    const store = new DynamoApiKeyStore(fakeTable);
    const keyHash = 'ab'.repeat(32);
    await store.create({ id: 'key_0123456789abcdef', keyHash, name: 'ci', scopes: ['admin'], createdAt: '2026-12-02T11:00:00.000Z' });
    await store.findByHash(keyHash);
    await store.list();
    const byHash = keys.filter((k) => k.pk.includes(keyHash));
    const others = keys.filter((k) => !k.pk.includes(keyHash));
    expect(byHash.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    for (const { pk } of keys) expect(stringLike(API_KEY_LEADING_KEYS.any, pk), pk).toBe(true);
    for (const { pk } of byHash) expect(stringLike(API_KEY_LEADING_KEYS.byHash, pk), pk).toBe(true);
    // The authorizer cannot list keys (the id items); conversation items stay out of both patterns.
    for (const { pk } of others) expect(stringLike(API_KEY_LEADING_KEYS.byHash, pk), pk).toBe(false);
    for (const pk of ['THREAD#thr_1', 'CONTACT#c_1', 'ACCOUNTS', 'IDEMPOTENCY#k'])
      expect(stringLike(API_KEY_LEADING_KEYS.any, pk), pk).toBe(false);
  });

  it('grants API key access alone when the table grant does not already cover it', () => {
    const stack = new Stack(testApp(), 'Grants', { env: { account: ACCOUNT, region: REGION } });
    const role = (id: string) => new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const keysOnly = role('KeysOnly');
    ThreadTable.grant(keysOnly, TABLE_NAME, { apiKeys: 'readWrite' });
    const readerAdmin = role('ReaderAdmin');
    ThreadTable.grant(readerAdmin, TABLE_NAME, { table: 'read', apiKeys: 'readWrite' });
    const template = Template.fromStack(stack);
    const statements = (r: iam.Role) =>
      (
        Object.values(
          template.findResources('AWS::IAM::Policy', {
            Properties: { Roles: [{ Ref: stack.getLogicalId(r.node.defaultChild as CfnElement) }] },
          }),
        )[0] as Resource
      ).Properties.PolicyDocument as { Statement: Statement[] };
    const keyWrites = {
      Effect: 'Allow',
      // Sorted: cdk.json minimizes policies.
      Action: [
        'dynamodb:BatchGetItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ],
      Resource: TABLE_ARN,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APIKEY*'] } },
    };
    expect(statements(keysOnly).Statement).toEqual([keyWrites]);
    expect(statements(readerAdmin).Statement).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'] }),
      keyWrites,
    ]);
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
    const placeholder = { ...JSON.parse(generate.SecretStringTemplate), [generate.GenerateStringKey]: 'x'.repeat(48) } as Record<
      string,
      string
    >;
    expect(Object.keys(placeholder)).toEqual(expect.arrayContaining([...inbound, ...outbound]));
    expect(hasCredentials(placeholder, inbound)).toBe(false); // so the webhook answers 404
  });

  it('has no secret for a channel that is not enabled', () => {
    parley.resourceCountIs('AWS::SecretsManager::Secret', ENABLED_CHANNELS.length);
  });
});

describe('undeliverable events', () => {
  it("sends an event EventBridge could not deliver to its target queue's dead-letter queue", () => {
    const rules = Object.values(parley.findResources('AWS::Events::Rule')) as {
      Properties: { Targets: { DeadLetterConfig?: unknown }[] };
    }[];
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) for (const target of rule.Properties.Targets) expect(target.DeadLetterConfig).toBeDefined();
  });
});

describe('stream triggers', () => {
  it('has one per topology stream trigger, on the table stream, and nothing else reads the stream', () => {
    expect(streamFunctions.map(([name]) => name)).toEqual(['outbox-relay']);
    const onStream = Object.values(parley.findResources('AWS::Lambda::EventSourceMapping')).filter((m) =>
      JSON.stringify((m as Resource).Properties.EventSourceArn).includes('Fn::GetStackOutput'),
    );
    expect(onStream).toHaveLength(streamFunctions.length);
  });

  it.each(streamFunctions)(
    '%s gets filtered batches in order, retried until they succeed, expired ones to its dead-letter queue',
    (name, spec) => {
      const trigger = spec.stream!;
      const consumer = stacks.parley.streams[name]!;
      const [mapping, ...others] = Object.values(
        parley.findResources('AWS::Lambda::EventSourceMapping', { Properties: { FunctionName: { Ref: functionId(name) } } }),
      ) as Resource[];
      expect(others).toEqual([]);
      expect(mapping!.Properties).toEqual({
        EventSourceArn: { 'Fn::GetStackOutput': { StackName: 'ParleyData', OutputName: expect.any(String), Region: REGION } },
        FunctionName: { Ref: functionId(name) },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: trigger.batchSize,
        MaximumBatchingWindowInSeconds: trigger.batchingWindowSeconds,
        FilterCriteria: { Filters: trigger.filters.map((filter) => ({ Pattern: JSON.stringify(filter) })) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        // Never split a batch: a later record must not be published before an earlier one that failed.
        BisectBatchOnFunctionError: false,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(consumer.deadLetterQueue), 'Arn'] } } },
        // Absent: CloudFormation's -1, retried until success or until the record expires from the stream.
      });
      expect(mapping!.Properties).not.toHaveProperty('MaximumRetryAttempts');
      expect(mapping!.Properties).not.toHaveProperty('MaximumRecordAgeInSeconds');
    },
  );

  it("filters the outbox relay's records to writes that carried domain events, and subscription changes", () => {
    const [mapping] = Object.values(
      parley.findResources('AWS::Lambda::EventSourceMapping', { Properties: { FunctionName: { Ref: functionId('outbox-relay') } } }),
    ) as Resource[];
    const patterns = (mapping!.Properties.FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map(
      (f) => JSON.parse(f.Pattern) as unknown,
    );
    expect(patterns).toEqual([
      { eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { ev: { S: [{ exists: true }] } } } },
      { dynamodb: { Keys: { pk: { S: ['WEBHOOKS'] } } } },
    ]);
  });

  it.each(streamFunctions)('%s has an alarm on its iterator age and one on its dead-letter queue', (name) => {
    const consumer = stacks.parley.streams[name]!;
    expect(resource(parley, logicalId(consumer.iteratorAgeAlarm)).Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(name) } }],
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 5 * 60 * 1000,
      EvaluationPeriods: 1,
    });
    expect(resource(parley, logicalId(consumer.deadLetterAlarm)).Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(consumer.deadLetterQueue), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    expect(resource(parley, logicalId(consumer.deadLetterQueue)).Properties).toMatchObject({
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
  });

  it('refuses a trigger Lambda cannot render, or one that would invoke on every write', () => {
    const good: StreamTrigger = { batchSize: 50, batchingWindowSeconds: 1, filters: [{ eventName: ['INSERT'] }] };
    expect(() => validateStreamTrigger('Relay', good)).not.toThrow();
    expect(() => validateStreamTrigger('Relay', { ...good, batchSize: 0 })).toThrow(
      'Stream trigger of Relay batch size must be an integer from 1 to 10000, but 0 was provided',
    );
    expect(() => validateStreamTrigger('Relay', { ...good, batchingWindowSeconds: 301 })).toThrow(
      'Stream trigger of Relay batching window must be an integer from 0 to 300 seconds, but 301 was provided',
    );
    expect(() => validateStreamTrigger('Relay', { ...good, filters: [] })).toThrow(
      'Stream trigger of Relay filter count must be an integer from 1 to 5, but 0 was provided',
    );
    expect(() =>
      validateStreamTrigger('Relay', { ...good, filters: Array.from({ length: 6 }, () => ({ eventName: ['INSERT'] })) }),
    ).toThrow('Stream trigger of Relay filter count must be an integer from 1 to 5, but 6 was provided');
    // A pattern written for an EventBridge event, not a stream record.
    expect(() => validateStreamTrigger('Relay', { ...good, filters: [{ eventName: ['INSERT'] }, { detail: { type: ['x'] } }] })).toThrow(
      'Stream trigger of Relay filter 2 must match fields of a DynamoDB stream record (awsRegion, dynamodb, eventID, eventName, eventSource, eventVersion, userIdentity), but detail was provided',
    );
    expect(() => validateStreamTrigger('Relay', { ...good, filters: [{}] })).toThrow(
      /filter 1 must match fields of a DynamoDB stream record .*, but no field was provided/,
    );
    expect(() => validateStreamTrigger('Relay', { ...good, filters: [{ dynamodb: { Keys: { pk: { S: ['x'.repeat(5000)] } } } }] })).toThrow(
      /Stream trigger of Relay filter 1 must be at most 4096 characters of JSON, but \d+ were provided/,
    );
  });
});

describe('alarms on what Parley gave up on', () => {
  it('notifies the alarm topic from every alarm, when one is given, of alarm and recovery alike', () => {
    const alarms = Object.values(variant.template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
    // Each work queue's dead-letter queue, the parked queue, each stream trigger's two, each schedule's failures,
    // and MessagesFailed of the senders and of the proactive senders.
    const scheduled = functionEntries.filter(([, spec]) => spec.everyMinutes !== undefined).length;
    expect(alarms).toHaveLength(queueNames.length + (queueNames.length - consumedQueues.size) + 2 * streamFunctions.length + scheduled + 2);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [ALARM_TOPIC], OKActions: [ALARM_TOPIC] });
    }
    for (const alarm of Object.values(parley.findResources('AWS::CloudWatch::Alarm')) as Resource[]) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  it("alarms when any channel's sender fails a message, summing each sender's own series", () => {
    const alarm = resource(parley, logicalId(stacks.parley.messagesFailed.alarm)).Properties;
    const metrics = alarm.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData: boolean;
      MetricStat?: { Metric: unknown; Period: number; Stat: string };
    }[];
    const series = metrics.filter((m) => m.MetricStat);
    expect(series.map((m) => m.MetricStat)).toEqual(
      ENABLED_CHANNELS.map((channel) => ({
        Metric: {
          Namespace: POWERTOOLS_NAMESPACE,
          MetricName: 'MessagesFailed',
          // Powertools adds `service` (POWERTOOLS_SERVICE_NAME) to the `channel` the sender counts by.
          Dimensions: [
            { Name: 'channel', Value: channel },
            { Name: 'service', Value: `sender-${channel}` },
          ],
        },
        Period: 300,
        Stat: 'Sum',
      })),
    );
    expect(metrics.filter((m) => m.Expression)).toEqual([
      expect.objectContaining({ Expression: `SUM(FILL([${series.map((m) => m.Id).join(', ')}], 0))`, ReturnData: true }),
    ]);
    expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 1 });
    expect(METRICS).toContain(MESSAGES_FAILED_METRIC);
    expect(METRICS_NAMESPACE).toBe(POWERTOOLS_NAMESPACE);
    // Those service names are the senders', and each consumes its channel's outbound queue.
    for (const channel of ENABLED_CHANNELS) expect((FUNCTIONS[`sender-${channel}`] as FunctionSpec).queue).toBe(outboundQueueOf(channel));
  });

  it('refuses more series than one alarm can sum, or the same one twice', () => {
    const source = (i: number) => ({ service: `sender-${i}`, channel: `c${i}` });
    expect(() => validateMessagesFailedSources([])).toThrow(
      "MessagesFailed alarm sources must be 1 to 10 (one alarm's metric math limit), but 0 were provided",
    );
    expect(() => validateMessagesFailedSources(Array.from({ length: 11 }, (_, i) => source(i)))).toThrow(/but 11 were provided/);
    expect(() => validateMessagesFailedSources([source(1), source(1)])).toThrow(
      'MessagesFailed alarm sources must be distinct, but sender-1/c1 was provided twice',
    );
  });
});

describe('tracing', () => {
  it("samples a fixed 1% of the invocations of this stack's functions, with no reservoir", () => {
    parley.resourceCountIs('AWS::XRay::SamplingRule', 1);
    expect(resource(parley, stacks.parley.getLogicalId(stacks.parley.traceSampling.rule)).Properties).toEqual({
      SamplingRule: {
        RuleName: 'Parley-functions',
        Priority: 1000,
        FixedRate: 0.01,
        ReservoirSize: 0,
        ServiceName: 'Parley-*',
        ServiceType: '*',
        Host: '*',
        HTTPMethod: '*',
        URLPath: '*',
        ResourceARN: '*',
        Version: 1,
      },
    });
  });

  it('still traces every function actively, so a sampled invocation is traced end to end', () => {
    for (const [name] of functionEntries) expect(resource(parley, functionId(name)).Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('refuses a rate, reservoir or priority X-Ray does not accept', () => {
    const build = (props: ConstructorParameters<typeof TraceSampling>[2]) => () =>
      new TraceSampling(new Stack(undefined, 'Parley'), 'Sampling', props);
    expect(build({ fixedRate: 1.5 })).toThrow('Trace sampling fixed rate must be from 0 to 1, but 1.5 was provided');
    expect(build({ reservoirSize: -1 })).toThrow('Trace sampling reservoir size must be a non-negative integer, but -1 was provided');
    expect(build({ priority: 0 })).toThrow('Trace sampling priority must be an integer from 1 to 9999, but 0 was provided');
    expect(() => new TraceSampling(new Stack(undefined, 'ParleyWithAVeryLongStackNameIndeed'), 'Sampling')).toThrow(
      'Trace sampling rule name must be at most 32 characters, but ParleyWithAVeryLongStackNameIndeed-functions was provided',
    );
  });
});

describe('schedules', () => {
  it('renders one schedule per topology function that runs every few minutes', () => {
    const scheduled = functionEntries.filter(([, spec]) => spec.everyMinutes !== undefined);
    parley.resourceCountIs('AWS::Scheduler::Schedule', scheduled.length);
    expect(Object.keys(stacks.parley.schedules)).toEqual(scheduled.map(([name]) => name));
  });

  it('runs a function every N minutes with EventBridge Scheduler, allowed to invoke that function alone, cdk-nag clean', () => {
    const spec: FunctionSpec = {
      entry: FUNCTIONS['api-docs'].entry,
      description: 'A periodic sweep',
      everyMinutes: 5,
      access: {},
      timeoutSeconds: 30,
      memoryMb: 256,
    };
    const app = testApp();
    const stack = new Stack(app, 'Parley', { env: { account: ACCOUNT, region: REGION } });
    const fn = new ParleyFunction(stack, 'Sweeper', { spec, serviceName: 'sweeper', projectRoot: root });
    const scheduled = new ScheduledInvocation(stack, 'SweeperSchedule', { fn, everyMinutes: spec.everyMinutes! });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth({ validateOnSynthesis: false })).not.toThrow();
    const template = Template.fromStack(stack);
    const fnArn = { 'Fn::GetAtt': [logicalId(fn), 'Arn'] };

    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    const schedule = resource(template, logicalId(scheduled.schedule)).Properties;
    expect(schedule).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: fnArn,
        RoleArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
        RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 2 },
      },
    });
    const roleId = (schedule.Target as { RoleArn: { 'Fn::GetAtt': [string, string] } }).RoleArn['Fn::GetAtt'][0];
    expect(resource(template, roleId).Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [expect.objectContaining({ Principal: { Service: 'scheduler.amazonaws.com' }, Action: 'sts:AssumeRole' })],
    });
    const rolePolicies = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }),
    ) as Resource[];
    expect(rolePolicies.flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement)).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: fnArn },
    ]);
    // A failed or late run is superseded by the next, never retried on top of it.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(fn) },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
    });
    expect(resource(template, logicalId(scheduled.failingAlarm)).Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn) } }],
      Period: 300,
      Statistic: 'Sum',
      EvaluationPeriods: 3,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('refuses a period that is not a whole number of minutes from 1 to a day', () => {
    for (const minutes of [0, 1.5, 1441]) {
      expect(() => validateSchedule('Sweeper', minutes)).toThrow(
        `Schedule of Sweeper must be an integer from 1 to 1440 minutes, but ${minutes} was provided`,
      );
    }
    expect(() => validateSchedule('Sweeper', 1440)).not.toThrow();
  });
});

describe('outputs', () => {
  it('names the API, each webhook URL, the bus, the secrets and the dead-letter queues', () => {
    const outputs = Object.keys(parley.toJSON().Outputs as Record<string, unknown>);
    expect(outputs.filter((o) => o.endsWith('DeadLetterQueueArn'))).toHaveLength(queueNames.length + streamFunctions.length);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'EventBusName',
        ...ENABLED_CHANNELS.flatMap((c) => [
          `${c[0]!.toUpperCase()}${c.slice(1)}WebhookUrl`,
          `${c[0]!.toUpperCase()}${c.slice(1)}SecretName`,
        ]),
        'InboundDeadLetterQueueArn',
        'OutboundTelegramDeadLetterQueueArn',
        'MediaWhatsappDeadLetterQueueArn',
        'OutboxParkedQueueArn',
        'OutboxRelayStreamDeadLetterQueueArn',
      ]),
    );
    // The queues shared by every channel are gone.
    expect(outputs).not.toContain('OutboundDeadLetterQueueArn');
    expect(outputs).not.toContain('MediaDeadLetterQueueArn');
    parley.hasOutput('OutboxParkedQueueArn', { Value: queueArn('outbox-parked') });
    parley.hasOutput('OutboxRelayStreamDeadLetterQueueArn', {
      Value: { 'Fn::GetAtt': [logicalId(stacks.parley.streams['outbox-relay']!.deadLetterQueue), 'Arn'] },
    });
    data.hasOutput('TableName', { Value: { Ref: Match.anyValue() } });
  });

  it('are the outputs docs/deploy.md names, no more and no fewer', () => {
    // CDK's own outputs for the weak cross-stack reference (`PublishOutput…`) are plumbing, not for operators.
    const outputs = [parley, data]
      .flatMap((t) => Object.keys(t.toJSON().Outputs as Record<string, unknown>))
      .filter((o) => !o.startsWith('PublishOutput'));
    const deployMd = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
    // Output names as the document writes them: `TableName`, `Outbound<Channel>DeadLetterQueueArn`, …
    const named = [...deployMd.matchAll(/`([A-Z<][\w<>]*(?:Arn|Url|Name))`/g)].map((m) => m[1] as string);
    const pattern = (name: string) => new RegExp(`^${name.replace('<Channel>', '[A-Z][a-z]+')}$`);
    for (const name of named) {
      expect(
        outputs.filter((o) => pattern(name).test(o)),
        `docs/deploy.md names ${name}`,
      ).not.toHaveLength(0);
    }
    for (const output of outputs)
      expect(
        named.some((name) => pattern(name).test(output)),
        `docs/deploy.md leaves out ${output}`,
      ).toBe(true);
  });
});
