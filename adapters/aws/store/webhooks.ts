/**
 * Webhook subscriptions and their deliveries on the shared table. Subscriptions share one partition (a
 * deployment has a handful, listed in one Query); each delivery is an item of its subscription's partition,
 * found by its id, and listed newest first through `gsi2`. Deliveries expire after a week (TTL).
 */
import { SUBSCRIPTIONS_PARTITION } from '../../../topology/table.ts';
import * as z from 'zod';
import {
  DeliverySchema,
  DELIVERY_RETENTION_DAYS,
  SubscriptionSchema,
  type Delivery,
  type StoredDelivery,
  type StoredSubscription,
  type WebhookStore,
} from '../../../domain/integrations/webhooks.ts';
import type { Page, Versioned } from '../../../domain/shared/store.ts';
import { millis } from '../../../domain/shared/time.ts';
import { TABLE_KEYS } from '../../../topology/table.ts';
import { checkLimit, decodeCursor, type DynamoTable, encodeCursor, key, KIND_ATTRIBUTE, versionOf, type Key } from './table.ts';

const SUBSCRIPTIONS_PK = SUBSCRIPTIONS_PARTITION;
const subscriptionKey = (id: string): Key => ({ pk: SUBSCRIPTIONS_PK, sk: key('WEBHOOK', id) });
const deliveriesPk = (subscriptionId: string): string => key('WEBHOOK', subscriptionId);
const deliveryKey = (subscriptionId: string, id: string): Key => ({ pk: deliveriesPk(subscriptionId), sk: key('DELIVERY', id) });

const StoredSubscriptionSchema = SubscriptionSchema.extend({ secret: z.string() });
const StoredDeliverySchema = DeliverySchema.extend({ body: z.string(), attemptingUntil: z.string().optional() });
const CursorSchema = z.strictObject({ pk: z.string().min(1), sk: z.string().min(1), gsi2pk: z.string().min(1), gsi2sk: z.string().min(1) });

export class DynamoWebhookStore implements WebhookStore {
  constructor(private readonly table: DynamoTable) {}

  async listSubscriptions(): Promise<StoredSubscription[]> {
    const subscriptions: StoredSubscription[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query({
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': SUBSCRIPTIONS_PK },
        ConsistentRead: true,
        ...(start && { ExclusiveStartKey: start }),
      });
      subscriptions.push(...page.items.map((item) => StoredSubscriptionSchema.parse(item)));
      start = page.lastKey;
    } while (start);
    return subscriptions.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  async getSubscription(id: string): Promise<Versioned<StoredSubscription> | undefined> {
    const item = await this.table.get(subscriptionKey(id));
    return item && { value: StoredSubscriptionSchema.parse(item), version: versionOf(item) };
  }

  async putSubscription(subscription: StoredSubscription, version: number): Promise<void> {
    const value = StoredSubscriptionSchema.parse(subscription);
    await this.table.commit([
      { op: 'put', item: { ...subscriptionKey(value.id), [KIND_ATTRIBUTE]: 'webhook', ...value }, version, label: 'webhook subscription' },
    ]);
  }

  async deleteSubscription(id: string, version: number): Promise<void> {
    await this.table.commit([{ op: 'delete', key: subscriptionKey(id), version, label: 'webhook subscription' }]);
  }

  async getDelivery(subscriptionId: string, deliveryId: string): Promise<Versioned<StoredDelivery> | undefined> {
    const item = await this.table.get(deliveryKey(subscriptionId, deliveryId));
    return item && { value: StoredDeliverySchema.parse(item), version: versionOf(item) };
  }

  async putDelivery(delivery: StoredDelivery, version: number): Promise<void> {
    const value = StoredDeliverySchema.parse(delivery);
    await this.table.commit([
      {
        op: 'put',
        item: {
          ...deliveryKey(value.subscriptionId, value.id),
          [KIND_ATTRIBUTE]: 'delivery',
          ...value,
          gsi2pk: deliveriesPk(value.subscriptionId),
          gsi2sk: `${new Date(millis(value.createdAt)).toISOString()}#${value.id}`,
          [TABLE_KEYS.ttlAttribute]: Math.ceil(millis(value.createdAt) / 1000) + DELIVERY_RETENTION_DAYS * 86_400,
        },
        version,
        label: 'webhook delivery',
      },
    ]);
  }

  async listDeliveries(subscriptionId: string, limit: number, cursor?: string): Promise<Page<Delivery>> {
    checkLimit(limit);
    const pk = deliveriesPk(subscriptionId);
    const start = cursor === undefined ? undefined : decodeCursor(cursor, CursorSchema, (c) => c.gsi2pk === pk);
    const page = await this.table.query({
      IndexName: 'gsi2',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'gsi2pk' },
      ExpressionAttributeValues: { ':pk': pk },
      ScanIndexForward: false,
      Limit: limit + 1,
      ...(start && { ExclusiveStartKey: start }),
    });
    const items = page.items.slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map((item) => DeliverySchema.parse(item)),
      ...(page.items.length > limit &&
        last && {
          nextCursor: encodeCursor({ pk: String(last.pk), sk: String(last.sk), gsi2pk: String(last.gsi2pk), gsi2sk: String(last.gsi2sk) }),
        }),
    };
  }
}
