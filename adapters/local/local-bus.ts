/**
 * The EventBridge bus of the local runtime: the same rules as the stacks (from the topology), matched
 * with the same patterns, delivering to the same queues. `publish` resolves once every matching queue
 * holds the event, the local equivalent of PutEvents accepting it. Connector events and domain events share
 * it, as they share the bus in AWS, each with its own source.
 */
import { randomUUID } from 'node:crypto';
import type { BusEntry } from '../aws/eventbridge-bus.ts';
import type { Log, WorkQueue } from '../../domain/ports.ts';
import type { QueueName, RuleSpec } from '../../topology/topology.ts';
import { compilePattern } from '../../topology/event-pattern.ts';

/** The envelope EventBridge wraps around a `detail` when it delivers an event. */
export interface BusEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

export class LocalEventBus<T> {
  private readonly rules: { name: string; matches: (e: unknown) => boolean; spec: RuleSpec }[];
  constructor(
    rules: Readonly<Record<string, RuleSpec>>,
    private readonly queues: Readonly<Record<QueueName, WorkQueue<unknown>>>,
    private readonly entryOf: (event: T) => BusEntry,
    private readonly log?: Log,
  ) {
    this.rules = Object.entries(rules).map(([name, spec]) => ({ name, spec, matches: compilePattern(spec.pattern) }));
  }

  async publish(events: readonly T[]): Promise<void> {
    for (const event of events) {
      const entry = this.entryOf(event);
      const envelope: BusEnvelope = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.detailType,
        source: entry.source,
        account: '000000000000',
        time: entry.time,
        region: 'local',
        resources: [],
        detail: entry.detail,
      };
      const matched = this.rules.filter((rule) => rule.matches(envelope));
      for (const rule of matched) {
        await this.queues[rule.spec.target].send(rule.spec.input === 'detail' ? entry.detail : envelope);
      }
      this.log?.debug(`bus  ${entry.detailType} ${entry.id} → ${matched.map((r) => r.spec.target).join(', ') || '(no rule)'}`);
    }
  }
}
