/**
 * Builds Parley's two stacks into an app, from the app's context. `bin/app.ts` runs it for `cdk`; the CDK
 * tests run the same function, so what they check is what gets deployed.
 */
import { Validations, type App, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Channel } from '../domain/content.ts';
import { ENABLED_CHANNELS } from '../topology/topology.ts';
import { ParleyDataStack } from './parley-data-stack.ts';
import { ParleyStack } from './parley-stack.ts';

export interface ParleyAppOptions {
  /** Directory holding `package-lock.json` and the function entries. */
  readonly projectRoot: string;
}

export interface ParleyStacks {
  readonly data: ParleyDataStack;
  readonly parley: ParleyStack;
}

const stringContext = (app: App, key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`Context ${key} must be a string, but ${JSON.stringify(value)} was provided`);
  return value;
};

/** `-c nag=true` arrives as a string, a cdk.json entry as a boolean. */
const flagContext = (app: App, key: string): boolean => {
  const value: unknown = app.node.tryGetContext(key);
  return value === true || value === 'true';
};

/**
 * Context keys: `account`, `region` (stack environment; unset: environment-agnostic, no lookup ever),
 * `<channel>ApiBaseUrl` (provider API origin override, e.g. `telegramApiBaseUrl`), `alarmTopicArn`,
 * `messageRetentionDays`, `autoResolveAfterHours`, `apiRateLimit`, `publishAllDomainEvents` (product settings,
 * see ParleyStackProps.settings), and `nag` (run the cdk-nag AWS Solutions checks; errors fail the synth).
 */
export function buildParley(app: App, options: ParleyAppOptions): ParleyStacks {
  const env: Environment = { account: stringContext(app, 'account'), region: stringContext(app, 'region') };
  const data = new ParleyDataStack(app, 'ParleyData', {
    env,
    description: 'Parley: the conversation table (stateful, retained)',
  });
  const parley = new ParleyStack(app, 'Parley', {
    env,
    description: 'Parley: webhooks, bus, queues, functions and the integrator API',
    tableName: data.tableName,
    tableStreamArn: data.tableStreamArn,
    mediaBucketName: data.mediaBucketName,
    projectRoot: options.projectRoot,
    apiBaseUrls: Object.fromEntries(
      ENABLED_CHANNELS.flatMap((channel: Channel) => {
        const url = stringContext(app, `${channel}ApiBaseUrl`);
        return url ? [[channel, url]] : [];
      }),
    ),
    alarmTopicArn: stringContext(app, 'alarmTopicArn'),
    settings: Object.fromEntries(
      (
        [
          ['messageRetentionDays', 'MESSAGE_RETENTION_DAYS'],
          ['autoResolveAfterHours', 'AUTO_RESOLVE_AFTER_HOURS'],
          ['apiRateLimit', 'API_RATE_LIMIT'],
          ['publishAllDomainEvents', 'PUBLISH_ALL_DOMAIN_EVENTS'],
        ] as const
      ).flatMap(([context, variable]) => {
        const value = stringContext(app, context);
        return value === undefined ? [] : [[variable, value]];
      }),
    ),
  });
  parley.addStackDependency(data, 'the functions read and write the table and the media bucket');
  if (flagContext(app, 'nag')) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { data, parley };
}
