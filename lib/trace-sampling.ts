/**
 * Which of Parley's invocations X-Ray traces. Every function keeps active tracing (a sampled invocation is
 * traced through the AWS SDK calls it makes), but a sampling rule of Parley's own decides how many are.
 *
 * Why not X-Ray's default rule: it traces the first request of every second (its reservoir) plus 5% of the
 * rest, so at the traffic a support desk has (well under a request per second per function most of the day)
 * it traces nearly every invocation. X-Ray bills per trace recorded (after a free 100,000 a month) and again
 * per trace retrieved or scanned, and Parley's functions are invoked per webhook, per queue batch and per
 * stream batch: one invocation a second is 2.6 million traces a month at the default, about 26,000 at a
 * fixed 1% with no reservoir (`npm run cost` counts it: $0.06 per million messages, against $0.28 at 5%).
 * 1% still shows the shape of slow paths and errors at any real volume; the logs and metrics carry every
 * invocation.
 * @see https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html
 */
import { Stack } from 'aws-cdk-lib';
import * as xray from 'aws-cdk-lib/aws-xray';
import { Construct } from 'constructs';

export interface TraceSamplingProps {
  /**
   * Which services the rule applies to, as X-Ray names them: a Lambda function's segments carry the function
   * name, and CloudFormation names a stack's functions `<stack name>-<logical id>-<suffix>`.
   * @default `${stackName}-*`
   */
  readonly serviceName?: string;
  /**
   * Share of invocations traced beyond the reservoir, from 0 to 1.
   * @default 0.01
   */
  readonly fixedRate?: number;
  /**
   * Invocations traced each second before the fixed rate applies.
   * @default 0
   */
  readonly reservoirSize?: number;
  /**
   * Rule priority, 1 (first) to 9999; X-Ray's default rule is evaluated last.
   * @default 1000
   */
  readonly priority?: number;
}

/** X-Ray's limit on a sampling rule's name. */
const MAX_RULE_NAME_LENGTH = 32;

export function validateTraceSampling(props: Required<TraceSamplingProps> & { readonly ruleName: string }): void {
  if (!(props.fixedRate >= 0 && props.fixedRate <= 1)) {
    throw new Error(`Trace sampling fixed rate must be from 0 to 1, but ${props.fixedRate} was provided`);
  }
  if (!Number.isInteger(props.reservoirSize) || props.reservoirSize < 0) {
    throw new Error(`Trace sampling reservoir size must be a non-negative integer, but ${props.reservoirSize} was provided`);
  }
  if (!Number.isInteger(props.priority) || props.priority < 1 || props.priority > 9999) {
    throw new Error(`Trace sampling priority must be an integer from 1 to 9999, but ${props.priority} was provided`);
  }
  if (props.ruleName.length > MAX_RULE_NAME_LENGTH) {
    throw new Error(`Trace sampling rule name must be at most ${MAX_RULE_NAME_LENGTH} characters, but ${props.ruleName} was provided`);
  }
}

export class TraceSampling extends Construct {
  public readonly rule: xray.CfnSamplingRule;

  constructor(scope: Construct, id: string, props: TraceSamplingProps = {}) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    const settings = {
      serviceName: props.serviceName ?? `${stackName}-*`,
      fixedRate: props.fixedRate ?? 0.01,
      reservoirSize: props.reservoirSize ?? 0,
      priority: props.priority ?? 1000,
      // One rule per stack, named after it, so two Parleys in one account do not collide.
      ruleName: `${stackName}-functions`,
    };
    validateTraceSampling(settings);
    this.rule = new xray.CfnSamplingRule(this, 'Rule', {
      samplingRule: {
        ruleName: settings.ruleName,
        priority: settings.priority,
        fixedRate: settings.fixedRate,
        reservoirSize: settings.reservoirSize,
        serviceName: settings.serviceName,
        // Lambda's own segments and the function's segments (AWS::Lambda, AWS::Lambda::Function) alike.
        serviceType: '*',
        host: '*',
        httpMethod: '*',
        urlPath: '*',
        resourceArn: '*',
        version: 1,
      },
    });
  }
}
