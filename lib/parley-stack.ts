/**
 * The stateless part of Parley, rendered from the topology: one function per `FUNCTIONS` entry, its
 * routes on the HTTP API, its queue as event source, the bus rules to the queues, and the IAM grants its
 * `access` names, nothing more.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
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
import { pascalCase } from './names.ts';
import { ParleyFunction } from './parley-function.ts';
import { MediaBucket, mediaBucketName } from './media-bucket.ts';
import { ThreadTable } from './thread-table.ts';
import { WorkQueue } from './work-queue.ts';

export interface ParleyStackProps extends StackProps {
  /** Name of the data stack's table; referenced by name, so the two stacks deploy and delete independently. */
  readonly tableName: string;
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
}

/** The environment variable that overrides a channel's provider API origin, the same as the local runtime's. */
const apiBaseUrlVariable = (channel: Channel): string => {
  const connector = getConnector(channel);
  if (!connector) throw new Error(`Channel ${channel} has a provider API base URL but no connector`);
  return connector.environment.apiBaseUrl;
};

/** By the topology's definition, a route without `apiKey` is one whose handler verifies the provider itself. */
const NO_AUTH_ROUTE_REASON =
  "Provider webhooks cannot present an integrator key; the channel's connector verifies the provider's signature or secret token on the raw body and answers 401 otherwise.";

export class ParleyStack extends Stack {
  public readonly functions: Readonly<Record<FunctionName, ParleyFunction>>;
  public readonly queues: Readonly<Record<QueueName, WorkQueue>>;
  public readonly bus: ParleyEventBus;
  public readonly api: ParleyHttpApi;
  public readonly secrets: ChannelSecrets;

  constructor(scope: Construct, id: string, props: ParleyStackProps) {
    super(scope, id, props);
    const { tableName } = props;
    const mediaBucket = props.mediaBucketName ?? mediaBucketName();
    const alarmAction = props.alarmTopicArn
      ? new cwActions.SnsAction(sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn))
      : undefined;

    const queues = Object.fromEntries(
      (Object.keys(QUEUES) as QueueName[]).map((name) => [name, new WorkQueue(this, pascalCase(name), { spec: QUEUES[name], alarmAction })]),
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
      ...Object.fromEntries(
        Object.entries(props.apiBaseUrls ?? {}).flatMap(([channel, url]) =>
          url ? [[apiBaseUrlVariable(channel as Channel), url]] : [],
        ),
      ),
    };

    const functions = {} as Record<FunctionName, ParleyFunction>;
    for (const [name, spec] of Object.entries(FUNCTIONS) as [FunctionName, FunctionSpec][]) {
      // Each function learns the URLs of the queues it touches, and only those.
      const queueUrls = Object.fromEntries([
        ...(spec.queue ? [['QUEUE_URL', queues[spec.queue].queue.queueUrl]] : []),
        ...(spec.access.sendTo ?? []).map((queue) => [queueUrlVariable(queue), queues[queue].queue.queueUrl]),
      ]);
      const fn = new ParleyFunction(this, pascalCase(name), {
        spec,
        projectRoot: props.projectRoot,
        environment: { ...environment, ...queueUrls, ...environmentOf(spec) },
      });
      this.grant(fn, spec.access, tableName, mediaBucket);
      if (spec.queue) queues[spec.queue].addConsumer(fn, Duration.seconds(spec.timeoutSeconds));
      functions[name] = fn;
    }
    this.functions = functions;

    this.api = new ParleyHttpApi(this, 'HttpApi', { authorizer: functions.authorizer });
    for (const [name, spec] of Object.entries(FUNCTIONS) as [FunctionName, FunctionSpec][]) {
      const routes = spec.routes ?? [];
      if (routes.length > 0) this.api.addRoutes(functions[name], routes, { unauthenticatedReason: NO_AUTH_ROUTE_REASON });
    }

    this.outputs();
  }

  /** Turns a topology `access` into IAM grants on the function's own role. */
  private grant(fn: ParleyFunction, access: Access, tableName: string, mediaBucket: string): void {
    if (access.table) ThreadTable.grant(fn, tableName, access.table);
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
    }
  }
}
