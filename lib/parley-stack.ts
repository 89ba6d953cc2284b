/**
 * The stateless part of Parley, rendered from the topology: one function per `FUNCTIONS` entry, its
 * routes on the HTTP API, its queue, stream or schedule as trigger, the bus rules to the queues, and the IAM
 * grants its `access` names, nothing more; plus the alarms and the trace sampling every function shares.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { connectors, getConnector } from '../connectors/registry.ts';
import type { Channel } from '../domain/content.ts';
import { DEFAULT_ACCOUNT } from '../domain/ingest.ts';
import {
  ENABLED_CHANNELS,
  FUNCTIONS,
  QUEUES,
  queueUrlVariable,
  RULES,
  environmentOf,
  type Access,
  type FunctionName,
  type FunctionSpec,
  type QueueName,
} from '../topology/topology.ts';
import { ChannelSecrets, channelSecretName, SECRET_PREFIX } from './channel-secrets.ts';
import { ParleyEventBus } from './event-bus.ts';
import { ParleyHttpApi } from './http-api.ts';
import { MediaBucket, mediaBucketName } from './media-bucket.ts';
import { MessagesFailedAlarm } from './messages-failed-alarm.ts';
import { pascalCase } from './names.ts';
import { ParleyFunction } from './parley-function.ts';
import { ScheduledInvocation } from './scheduled-invocation.ts';
import { OneTimeSchedules } from './one-time-schedules.ts';
import { StreamConsumer } from './stream-consumer.ts';
import { ThreadTable } from './thread-table.ts';
import { TraceSampling } from './trace-sampling.ts';
import { WorkQueue } from './work-queue.ts';

export interface ParleyStackProps extends StackProps {
  /** Name of the data stack's table; referenced by name, so the two stacks deploy and delete independently. */
  readonly tableName: string;
  /**
   * ARN of the table's stream, for the functions with a `stream` trigger. The one cross-stack reference
   * between the two stacks: a stream ARN ends in its creation time, so it cannot be computed like the table's
   * name. With `@aws-cdk/core:defaultCrossStackReferences` set to `weak` (cdk.json) it is a
   * `Fn::GetStackOutput` of the data stack's output, not an export: the data stack can still change its
   * stream without first removing this stack, which then reads the new ARN at its next deploy.
   */
  readonly tableStreamArn: string;
  /**
   * Name of the data stack's media bucket, found by name like the table.
   * @default mediaBucketName()
   */
  readonly mediaBucketName?: string;
  /** Directory holding `package-lock.json`; the topology's entry paths are relative to it. */
  readonly projectRoot: string;
  /**
   * Provider API origins replacing the real ones (sandboxes, fakes), by channel.
   * @default - each connector's real API
   */
  readonly apiBaseUrls?: Readonly<Partial<Record<Channel, string>>>;
  /**
   * An SNS topic every alarm notifies.
   * @default - alarms without actions
   */
  readonly alarmTopicArn?: string;
  /**
   * Product settings every function may read, as environment variables: `MESSAGE_RETENTION_DAYS` (messages
   * expire this many days after they were written), `AUTO_RESOLVE_AFTER_HOURS` (idle threads are resolved),
   * `API_RATE_LIMIT` (requests per second per API key), `PUBLISH_ALL_DOMAIN_EVENTS` (`true`: every domain
   * event goes on the bus, not only those a rule or webhook subscription wants).
   * @default - none: messages are kept, threads stay open, 50 requests per second, events on demand
   */
  readonly settings?: Readonly<
    Partial<Record<'MESSAGE_RETENTION_DAYS' | 'AUTO_RESOLVE_AFTER_HOURS' | 'API_RATE_LIMIT' | 'PUBLISH_ALL_DOMAIN_EVENTS', string>>
  >;
}

/** The environment variable that overrides a channel's provider API origin, the same as the local runtime's. */
const apiBaseUrlVariable = (channel: Channel): string => {
  const connector = getConnector(channel);
  if (!connector) throw new Error(`Channel ${channel} has a provider API base URL but no connector`);
  return connector.environment.apiBaseUrl;
};

/** A webhook route has no integrator key: its handler verifies the provider itself. */
export const WEBHOOK_ROUTE_REASON =
  "Provider webhooks cannot present an integrator key; the channel's connector verifies the provider's signature or secret token on the raw body and answers 401 otherwise.";
/** The OpenAPI document is public on purpose (design.md: every integrator route but it is authenticated). */
export const PUBLIC_DOCUMENT_REASON =
  "The integrator API's OpenAPI document is public by design: it describes the API and holds no data, no key and no account; its function has no access to the table, the secrets or the bus.";

/**
 * Why each function's `auth: 'none'` routes need no authorizer. A function missing here that declares such
 * a route fails the synth until someone writes down why.
 */
const UNAUTHENTICATED_REASONS: Readonly<Partial<Record<FunctionName, string>>> = {
  ...Object.fromEntries(ENABLED_CHANNELS.map((channel) => [`webhook-${channel}`, WEBHOOK_ROUTE_REASON])),
  'api-docs': PUBLIC_DOCUMENT_REASON,
};

export class ParleyStack extends Stack {
  public readonly functions: Readonly<Record<FunctionName, ParleyFunction>>;
  public readonly queues: Readonly<Record<QueueName, WorkQueue>>;
  /** The stream triggers, by the name of the function they feed. */
  public readonly streams: Readonly<Partial<Record<FunctionName, StreamConsumer>>>;
  /** The schedules, by the name of the function they run. */
  public readonly schedules: Readonly<Partial<Record<FunctionName, ScheduledInvocation>>>;
  public readonly bus: ParleyEventBus;
  public readonly api: ParleyHttpApi;
  public readonly secrets: ChannelSecrets;
  public readonly messagesFailed: MessagesFailedAlarm;
  public readonly proactiveMessagesFailed: MessagesFailedAlarm;
  public readonly traceSampling: TraceSampling;
  /** The group and role of the schedules functions make at run time (scheduled campaign starts). */
  public readonly oneTimeSchedules: OneTimeSchedules | undefined;

  constructor(scope: Construct, id: string, props: ParleyStackProps) {
    super(scope, id, props);
    const { tableName } = props;
    const mediaBucket = props.mediaBucketName ?? mediaBucketName();
    const alarmAction = props.alarmTopicArn
      ? new cwActions.SnsAction(sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn))
      : undefined;
    const table = dynamodb.TableV2.fromTableAttributes(this, 'Table', { tableName, tableStreamArn: props.tableStreamArn });
    const specs = Object.entries(FUNCTIONS) as [FunctionName, FunctionSpec][];

    // A queue no function consumes holds what waits for a person (the outbox's parked records).
    const consumed = new Set(specs.flatMap(([, spec]) => (spec.queue ? [spec.queue] : [])));
    const queues = Object.fromEntries(
      (Object.keys(QUEUES) as QueueName[]).map((name) => [
        name,
        new WorkQueue(this, pascalCase(name), { spec: QUEUES[name], alarmAction, parked: !consumed.has(name) }),
      ]),
    ) as Record<QueueName, WorkQueue>;
    this.queues = queues;

    this.bus = new ParleyEventBus(this, 'Events', {
      rules: RULES,
      queues: Object.fromEntries(Object.entries(queues).map(([name, q]) => [name, q.queue])) as Record<QueueName, WorkQueue['queue']>,
      deadLetterQueues: Object.fromEntries(Object.entries(queues).map(([name, q]) => [name, q.deadLetterQueue])) as Record<
        QueueName,
        WorkQueue['deadLetterQueue']
      >,
    });

    this.secrets = new ChannelSecrets(this, 'ChannelSecrets', {
      credentialNames: Object.fromEntries(
        ENABLED_CHANNELS.map((channel) => {
          const { inbound, outbound } = connectors[channel].credentialNames;
          return [channel, [...inbound, ...outbound]];
        }),
      ),
    });

    const environment: Record<string, string> = {
      TABLE_NAME: tableName,
      BUS_NAME: this.bus.bus.eventBusName,
      MEDIA_BUCKET: mediaBucket,
      SECRET_PREFIX,
      ...props.settings,
      ...Object.fromEntries(
        Object.entries(props.apiBaseUrls ?? {}).flatMap(([channel, url]) => (url ? [[apiBaseUrlVariable(channel as Channel), url]] : [])),
      ),
    };

    // One-time schedules functions make at run time (scheduled campaign starts), onto the queues they name.
    const scheduled = [...new Set(specs.flatMap(([, spec]) => spec.access.schedules ?? []))];
    this.oneTimeSchedules =
      scheduled.length > 0
        ? new OneTimeSchedules(this, 'OneTimeSchedules', {
            targets: Object.fromEntries(scheduled.map((queue) => [queue, queues[queue].queue])),
          })
        : undefined;

    const functions = {} as Record<FunctionName, ParleyFunction>;
    const streams: Partial<Record<FunctionName, StreamConsumer>> = {};
    const schedules: Partial<Record<FunctionName, ScheduledInvocation>> = {};
    for (const [name, spec] of specs) {
      // Each function learns the URLs of the queues it touches, and only those.
      const queueUrls = Object.fromEntries([
        ...(spec.queue ? [['QUEUE_URL', queues[spec.queue].queue.queueUrl]] : []),
        ...(spec.access.sendTo ?? []).map((queue) => [queueUrlVariable(queue), queues[queue].queue.queueUrl]),
      ]);
      const fn = new ParleyFunction(this, pascalCase(name), {
        spec,
        serviceName: name,
        projectRoot: props.projectRoot,
        environment: {
          ...environment,
          ...queueUrls,
          ...(spec.access.schedules && this.oneTimeSchedules?.environmentFor(spec.access.schedules)),
          ...environmentOf(spec),
        },
      });
      this.grant(fn, spec.access, tableName, mediaBucket);
      if (spec.access.schedules?.length) this.oneTimeSchedules?.grantSchedule(fn);
      if (spec.queue) queues[spec.queue].addConsumer(fn, Duration.seconds(spec.timeoutSeconds));
      if (spec.stream)
        streams[name] = new StreamConsumer(this, `${pascalCase(name)}Stream`, { fn, table, trigger: spec.stream, alarmAction });
      if (spec.everyMinutes !== undefined) {
        schedules[name] = new ScheduledInvocation(this, `${pascalCase(name)}Schedule`, {
          fn,
          everyMinutes: spec.everyMinutes,
          alarmAction,
        });
      }
      functions[name] = fn;
    }
    this.functions = functions;
    this.streams = streams;
    this.schedules = schedules;

    this.api = new ParleyHttpApi(this, 'HttpApi', { authorizer: functions.authorizer });
    for (const [name, spec] of specs) {
      const routes = spec.routes ?? [];
      if (routes.length > 0) this.api.addRoutes(functions[name], routes, { unauthenticatedReason: UNAUTHENTICATED_REASONS[name] });
    }

    // Each channel's sender is the one function that gives up on its messages (domain/delivery/outbound.ts).
    this.messagesFailed = new MessagesFailedAlarm(this, 'MessagesFailed', {
      sources: ENABLED_CHANNELS.map((channel) => ({ service: `sender-${channel}` satisfies FunctionName, channel })),
      alarmAction,
    });
    // The proactive senders give up on notifications and campaign messages: an alarm of their own (one alarm adds
    // at most ten metrics).
    this.proactiveMessagesFailed = new MessagesFailedAlarm(this, 'ProactiveMessagesFailed', {
      sources: ENABLED_CHANNELS.map((channel) => ({ service: `proactive-sender-${channel}` satisfies FunctionName, channel })),
      alarmAction,
    });
    this.traceSampling = new TraceSampling(this, 'TraceSampling');

    this.outputs();
  }

  /** Turns a topology `access` into IAM grants on the function's own role. */
  private grant(fn: ParleyFunction, access: Access, tableName: string, mediaBucket: string): void {
    if (access.table || access.apiKeys) ThreadTable.grant(fn, tableName, access);
    if (access.media) MediaBucket.grant(fn, mediaBucket, access.media);
    if (access.bus === 'put') this.bus.bus.grantPutEventsTo(fn);
    for (const queue of access.sendTo ?? []) this.queues[queue].queue.grantSendMessages(fn);
    for (const channel of access.secrets ?? []) this.secrets.grantRead(fn, channel);
    for (const channel of access.manageSecrets ?? []) this.secrets.grantManage(fn, channel);
  }

  private outputs(): void {
    new CfnOutput(this, 'ApiUrl', { description: 'Base URL of the HTTP API; the integrator API is under v1/', value: this.api.url });
    for (const channel of ENABLED_CHANNELS) {
      const webhook = FUNCTIONS[`webhook-${channel}`].routes?.find((r) => r.method === 'POST' && !r.path.includes('{'));
      if (webhook) {
        new CfnOutput(this, `${pascalCase(channel)}WebhookUrl`, {
          description: `Register this URL with ${channel} for its default account`,
          value: `${this.api.url}${webhook.path.slice(1)}`,
        });
      }
      const secret = this.secrets.secrets[channel];
      if (secret) {
        new CfnOutput(this, `${pascalCase(channel)}SecretName`, {
          description: `Secrets Manager secret with the ${channel} credentials of the default account`,
          value: channelSecretName(channel, DEFAULT_ACCOUNT),
        });
      }
    }
    new CfnOutput(this, 'EventBusName', { description: 'EventBridge bus of the normalized events', value: this.bus.bus.eventBusName });
    for (const [name, queue] of Object.entries(this.queues)) {
      new CfnOutput(this, `${pascalCase(name)}DeadLetterQueueArn`, {
        description: `Dead-letter queue of the ${name} queue; redrive with aws sqs start-message-move-task`,
        value: queue.deadLetterQueue.queueArn,
      });
      if (queue.parkedAlarm) {
        new CfnOutput(this, `${pascalCase(name)}QueueArn`, {
          description: `The ${name} queue, which nothing consumes: inspect what waits there, then redrive or delete it`,
          value: queue.queue.queueArn,
        });
      }
    }
    for (const [name, stream] of Object.entries(this.streams)) {
      if (!stream) continue;
      new CfnOutput(this, `${pascalCase(name)}StreamDeadLetterQueueArn`, {
        description: `Descriptions (shard, sequence numbers) of table stream records that expired before ${name} handled them`,
        value: stream.deadLetterQueue.queueArn,
      });
    }
  }
}
