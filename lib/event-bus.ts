/**
 * Parley's EventBridge bus: the connectors publish normalized events on it, one rule per topology rule
 * routes them to a work queue, and an archive keeps them so a fixed consumer can replay what it missed.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { EventPattern, QueueName, RuleSpec } from '../topology/topology.ts';
import { pascalCase } from './names.ts';

export interface ParleyEventBusProps {
  /** The topology's rules, by name. */
  readonly rules: Readonly<Record<string, RuleSpec>>;
  /** The queue each rule target names. */
  readonly queues: Readonly<Record<QueueName, sqs.IQueue>>;
  /**
   * Where EventBridge puts an event it could not deliver to a target queue after its retries: that queue's
   * own dead-letter queue, so the same alarm fires and the same redrive applies (consumers accept a
   * whole EventBridge event as well as its detail).
   */
  readonly deadLetterQueues: Readonly<Record<QueueName, sqs.IQueue>>;
  /**
   * How long the archive keeps every event for replay.
   * @default Duration.days(14)
   */
  readonly archiveRetention?: Duration;
}

/**
 * The topology writes patterns as EventBridge JSON (`detail-type`); the CDK type names that key
 * `detailType` and renders it back. Everything else passes through unchanged, prefix matchers included.
 */
export function toCdkEventPattern(pattern: EventPattern): events.EventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return { ...rest, ...(detailType === undefined ? {} : { detailType }) } as events.EventPattern;
}

export class ParleyEventBus extends Construct {
  public readonly bus: events.EventBus;
  /** The rules, by topology name. */
  public readonly rules: Readonly<Record<string, events.Rule>>;
  public readonly archive: events.Archive;

  constructor(scope: Construct, id: string, props: ParleyEventBusProps) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', { description: 'Normalized Parley events from the channel connectors' });

    const rules: Record<string, events.Rule> = {};
    for (const [name, spec] of Object.entries(props.rules)) {
      rules[name] = new events.Rule(this, pascalCase(name), {
        eventBus: this.bus,
        description: spec.description,
        eventPattern: toCdkEventPattern(spec.pattern),
        targets: [
          new targets.SqsQueue(props.queues[spec.target], {
            message: spec.input === 'detail' ? events.RuleTargetInput.fromEventPath('$.detail') : undefined,
            deadLetterQueue: props.deadLetterQueues[spec.target],
            maxEventAge: Duration.hours(24),
          }),
        ],
      });
    }
    this.rules = rules;

    this.archive = this.bus.archive('Archive', {
      description: 'Every event on the Parley bus, for replay after a consumer fix',
      // An archive needs a pattern; the bus's own account matches every event put on it.
      eventPattern: { account: [Stack.of(this).account] },
      retention: props.archiveRetention ?? Duration.days(14),
    });
  }
}
