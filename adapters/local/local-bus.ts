/**
 * The EventBridge bus of the local runtime: the same rules as the stacks (from the topology), matched
 * with the same patterns, delivering to the same queues. `publish` resolves once every matching queue
 * holds the event, the local equivalent of PutEvents accepting it.
 */
import { randomUUID } from 'node:crypto';
import { EVENT_SOURCE, type ParleyEvent } from '../../domain/events.ts';
import type { EventBus, Log, WorkQueue } from '../../domain/ports.ts';
import type { QueueName, RuleSpec } from '../../topology/topology.ts';
import { compilePattern } from './event-pattern.ts';

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
  readonly detail: ParleyEvent;
}

export class LocalEventBus implements EventBus {
  private readonly rules: { name: string; matches: (e: unknown) => boolean; spec: RuleSpec }[];
  constructor(
    rules: Readonly<Record<string, RuleSpec>>,
    private readonly queues: Readonly<Record<QueueName, WorkQueue<unknown>>>,
    private readonly log?: Log,
  ) {
    this.rules = Object.entries(rules).map(([name, spec]) => ({ name, spec, matches: compilePattern(spec.pattern) }));
  }

  async publish(events: readonly ParleyEvent[]): Promise<void> {
    for (const detail of events) {
      const envelope: BusEnvelope = {
        version: '0',
        id: randomUUID(),
        'detail-type': detail.type,
        source: EVENT_SOURCE,
        account: '000000000000',
        time: detail.receivedAt,
        region: 'local',
        resources: [],
        detail,
      };
      const matched = this.rules.filter((rule) => rule.matches(envelope));
      for (const rule of matched) {
        await this.queues[rule.spec.target].send(rule.spec.input === 'detail' ? detail : envelope);
      }
      this.log?.info(`bus  ${detail.type} ${detail.channel} ${detail.eventId} → ${matched.map((r) => r.spec.target).join(', ') || '(no rule)'}`);
    }
  }
}
