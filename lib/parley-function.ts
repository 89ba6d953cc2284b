/**
 * The house Lambda function: every Parley function is one of these, declared in one line from its
 * topology entry. Carries the runtime, bundling, tracing and logging defaults so the stack never repeats them.
 */
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionSpec } from '../topology/topology.ts';

/**
 * Bundled ESM cannot `require()`; CommonJS dependencies that call it for Node built-ins fail at cold start
 * with "Dynamic require of X is not supported" unless the bundle defines `require` itself.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __parleyCreateRequire } from 'node:module'; const require = __parleyCreateRequire(import.meta.url);";

/** Namespace of Parley's own metrics, the one Powertools writes them to (`adapters/aws/powertools.ts`). */
export const METRICS_NAMESPACE = 'Parley';

export interface ParleyFunctionProps {
  /** The function's topology entry: entry module, description, timeout and memory. */
  readonly spec: FunctionSpec;
  /**
   * The function's topology name: its Powertools service name (`POWERTOOLS_SERVICE_NAME`), so its logs carry it
   * and its metrics have it as their `service` dimension.
   */
  readonly serviceName: string;
  /** Directory that holds `package-lock.json`; the topology's `entry` paths are relative to it. */
  readonly projectRoot: string;
  /**
   * Environment variables added to the house ones.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The lowest level of application log lines kept, by Lambda and by Powertools' logger alike.
   * @default ApplicationLogLevel.INFO
   */
  readonly logLevel?: lambda.ApplicationLogLevel;
}

/**
 * A `NodejsFunction` with Parley's defaults: Node.js 24 on ARM, ESM bundle with source maps and the AWS SDK
 * left to the runtime, active tracing (which invocations are traced is the stack's sampling rule's choice,
 * `lib/trace-sampling.ts`), JSON logs into a log group with retention, Powertools configured by environment,
 * and a role of its own that may write only to that log group (no AWS managed policy).
 */
export class ParleyFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ParleyFunctionProps) {
    const { spec, projectRoot } = props;
    const logLevel = props.logLevel ?? lambda.ApplicationLogLevel.INFO;
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole, which may create and write to every log
    // group of the account; this function writes to one.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the Parley function ${id}`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: join(projectRoot, spec.entry),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      description: spec.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: logLevel,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // The same level as Lambda's log level control: Powertools warns when its own is more verbose, and
        // Lambda drops the lines below its level anyway. Powertools calls Lambda's FATAL CRITICAL.
        POWERTOOLS_LOG_LEVEL: logLevel === lambda.ApplicationLogLevel.FATAL ? 'CRITICAL' : logLevel,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        platform: 'node',
        // Prefer the ESM builds of dependencies so tree-shaking works on them.
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        // Stack traces map to file and line without shipping the sources themselves.
        sourcesContent: false,
        // Lambda's Node.js 24 runtime provides AWS SDK v3.
        externalModules: ['@aws-sdk/*'],
        banner: ESM_REQUIRE_BANNER,
      },
    });
    // Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords to the role's default policy.
    const defaultPolicy = role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions; "*" is the only valid resource.',
      });
    }
  }
}
