/**
 * The delivery store on the shared table: the consent ledger and states, the template registry, campaigns with
 * their recipients, contact marks and counters, pacing turns, notification lookups and push usage. Item layouts
 * and access patterns are in docs/decisions/proactive-messages.md; every read is a GetItem or a Query.
 */
import * as z from 'zod';
import type { Channel } from '../../../domain/content.ts';
import {
  CampaignRecipientSchema,
  CampaignSchema,
  ConsentEntrySchema,
  TemplateSchema,
  type Campaign,
  type CampaignCounter,
  type CampaignRecipient,
  type ConsentEntry,
  type ConsentScope,
  type NotificationPointer,
  type PacingState,
  type RecipientMark,
  type RecipientState,
  type Template,
} from '../../../domain/delivery/model.ts';
import type { DeliveryStore, DeliveryWrite, TemplateKey } from '../../../domain/delivery/ports.ts';
import type { Page, Versioned } from '../../../domain/shared/store.ts';
import { TABLE_KEYS } from '../../../topology/table.ts';
import {
  checkLimit,
  decodeCursor,
  type DynamoTable,
  encodeCursor,
  key,
  KIND_ATTRIBUTE,
  versionOf,
  type Item,
  type Key,
  type TableWrite,
} from './table.ts';

const TTL = TABLE_KEYS.ttlAttribute;

const consentPk = (contactId: string): string => key('CONSENT', contactId);
const consentEntryKey = (contactId: string, id: string): Key => ({ pk: consentPk(contactId), sk: key('E', id) });
const consentStateKey = (scope: ConsentScope): Key => ({
  pk: consentPk(scope.contactId),
  sk: key('S', scope.channel ?? '*', scope.purpose),
});
const templateKey = (k: TemplateKey): Key => ({ pk: key('TEMPLATE', k.channel, k.accountId), sk: key(k.name, k.language) });
const campaignPk = (id: string): string => key('CAMPAIGN', id);
const campaignKey = (id: string): Key => ({ pk: campaignPk(id), sk: 'CAMPAIGN' });
/** Positions are zero-padded, so recipients sort in the order they were given. */
const seqPart = (seq: number): string => String(seq).padStart(9, '0');
const LAST_SEQ = 999_999_999;
const recipientKey = (campaignId: string, seq: number): Key => ({ pk: campaignPk(campaignId), sk: `R#${seqPart(seq)}` });
const markKey = (campaignId: string, contactId: string): Key => ({ pk: campaignPk(campaignId), sk: key('M', contactId) });
const counterKey = (campaignId: string, shard: number): Key => ({ pk: campaignPk(campaignId), sk: `C#${String(shard).padStart(2, '0')}` });
const pacingKey = (k: string): Key => ({ pk: key('PACE', k), sk: 'PACE' });
const notificationKey = (id: string): Key => ({ pk: key('NOTIFICATION', id), sk: 'NOTIFICATION' });
const usageKey = (channel: Channel, accountId: string, month: string): Key => ({ pk: key('USAGE', channel, accountId), sk: month });

const MarkSchema = z.object({ campaignId: z.string(), contactId: z.string(), seq: z.int().nonnegative() });
const CounterSchema = z.object({
  campaignId: z.string(),
  shard: z.int().nonnegative(),
  counts: z.record(z.string(), z.int().nonnegative()),
});
const PacingSchema = z.object({ key: z.string(), tat: z.number() });
const NotificationPointerSchema = z.object({ id: z.string(), threadId: z.string(), contactId: z.string(), createdAt: z.string() });
const EntryCursorSchema = z.strictObject({ sk: z.string().startsWith('E#') });

/** Pacing records outlive their last turn by an hour, then the TTL sweep takes them. */
const PACING_TTL_SECONDS = 3600;
/** Monthly usage counters are kept for 13 months. */
const USAGE_TTL_SECONDS = 400 * 86_400;

const versioned = <T>(schema: z.ZodType<T>, item: Item): Versioned<T> => ({ value: schema.parse(item), version: versionOf(item) });

const keyOfDelete = (write: Extract<DeliveryWrite, { op: 'delete' }>): Key => {
  switch (write.kind) {
    case 'consentEntry':
      return consentEntryKey(write.key.contactId, write.key.id);
    case 'consentState':
      return consentStateKey(write.key);
    case 'template':
      return templateKey(write.key);
    case 'campaign':
      return campaignKey(write.key.id);
    case 'recipient':
      return recipientKey(write.key.campaignId, write.key.seq);
    case 'recipientMark':
      return markKey(write.key.campaignId, write.key.contactId);
    case 'campaignCounter':
      return counterKey(write.key.campaignId, write.key.shard);
    case 'pacing':
      return pacingKey(write.key.key);
    case 'notification':
      return notificationKey(write.key.id);
  }
};

const itemOfPut = (write: Extract<DeliveryWrite, { op: 'put' }>): Item & Key => {
  switch (write.kind) {
    case 'consentEntry':
      return {
        ...consentEntryKey(write.value.contactId, write.value.id),
        [KIND_ATTRIBUTE]: 'consent',
        ...ConsentEntrySchema.parse(write.value),
      };
    case 'consentState':
      return { ...consentStateKey(write.value), [KIND_ATTRIBUTE]: 'consentState', ...ConsentEntrySchema.parse(write.value) };
    case 'template':
      return { ...templateKey(write.value), [KIND_ATTRIBUTE]: 'template', ...TemplateSchema.parse(write.value) };
    case 'campaign':
      return { ...campaignKey(write.value.id), [KIND_ATTRIBUTE]: 'campaign', ...CampaignSchema.parse(write.value) };
    case 'recipient':
      return {
        ...recipientKey(write.value.campaignId, write.value.seq),
        [KIND_ATTRIBUTE]: 'recipient',
        ...CampaignRecipientSchema.parse(write.value),
      };
    case 'recipientMark':
      return { ...markKey(write.value.campaignId, write.value.contactId), [KIND_ATTRIBUTE]: 'recipientMark', ...write.value };
    case 'campaignCounter':
      return { ...counterKey(write.value.campaignId, write.value.shard), [KIND_ATTRIBUTE]: 'campaignCounter', ...write.value };
    case 'pacing':
      return {
        ...pacingKey(write.value.key),
        [KIND_ATTRIBUTE]: 'pacing',
        ...write.value,
        [TTL]: Math.ceil(write.value.tat / 1000) + PACING_TTL_SECONDS,
      };
    case 'notification':
      return { ...notificationKey(write.value.id), [KIND_ATTRIBUTE]: 'notification', ...write.value };
  }
};

const toTableWrite = (write: DeliveryWrite): TableWrite => {
  if (write.op === 'delete') {
    const itemKey = keyOfDelete(write);
    return { op: 'delete', key: itemKey, version: write.version, label: `${write.kind} ${itemKey.pk}` };
  }
  const item = itemOfPut(write);
  return {
    op: 'put',
    item,
    version: write.version,
    ...(write.events && { events: write.events }),
    label: `${write.kind} ${item.pk} ${item.sk}`,
  };
};

export class DynamoDeliveryStore implements DeliveryStore {
  constructor(private readonly table: DynamoTable) {}

  async getConsentEntry(contactId: string, id: string): Promise<Versioned<ConsentEntry> | undefined> {
    const item = await this.table.get(consentEntryKey(contactId, id));
    return item && versioned(ConsentEntrySchema, item);
  }

  async getConsentState(scope: ConsentScope): Promise<Versioned<ConsentEntry> | undefined> {
    const item = await this.table.get(consentStateKey(scope));
    return item && versioned(ConsentEntrySchema, item);
  }

  async listConsentStates(contactId: string): Promise<ConsentEntry[]> {
    const { items } = await this.table.query({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': consentPk(contactId), ':prefix': 'S#' },
      ConsistentRead: true,
    });
    return items.map((item) => ConsentEntrySchema.parse(item));
  }

  async listConsentEntries(contactId: string, limit: number, cursor?: string): Promise<Page<ConsentEntry>> {
    checkLimit(limit);
    const from = cursor === undefined ? undefined : decodeCursor(cursor, EntryCursorSchema).sk;
    const { items } = await this.table.query({
      KeyConditionExpression:
        from === undefined ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk AND #sk BETWEEN :prefix AND :from',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': consentPk(contactId), ':prefix': 'E#', ...(from !== undefined && { ':from': from }) },
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: limit + 2,
    });
    const entries = items.filter((item) => item.sk !== from);
    const page = entries.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((item) => ConsentEntrySchema.parse(item)),
      ...(entries.length > limit && last && { nextCursor: encodeCursor({ sk: String(last.sk) }) }),
    };
  }

  async getTemplate(k: TemplateKey): Promise<Versioned<Template> | undefined> {
    const item = await this.table.get(templateKey(k));
    return item && versioned(TemplateSchema, item);
  }

  async listTemplates(channel: Channel, accountId: string): Promise<Versioned<Template>[]> {
    const found: Versioned<Template>[] = [];
    let start: Item | undefined;
    do {
      const page = await this.table.query({
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': key('TEMPLATE', channel, accountId) },
        ConsistentRead: true,
        ...(start && { ExclusiveStartKey: start }),
      });
      found.push(...page.items.map((item) => versioned(TemplateSchema, item)));
      start = page.lastKey;
    } while (start);
    return found;
  }

  async getCampaign(id: string): Promise<Versioned<Campaign> | undefined> {
    const item = await this.table.get(campaignKey(id));
    return item && versioned(CampaignSchema, item);
  }

  async getRecipient(campaignId: string, seq: number): Promise<Versioned<CampaignRecipient> | undefined> {
    const item = await this.table.get(recipientKey(campaignId, seq));
    return item && versioned(CampaignRecipientSchema, item);
  }

  async listRecipients(campaignId: string, from: number, limit: number, state?: RecipientState): Promise<Versioned<CampaignRecipient>[]> {
    const found: Versioned<CampaignRecipient>[] = [];
    // No position is past nine digits; a later `from` would reverse the BETWEEN, which DynamoDB refuses.
    if (from > LAST_SEQ) return found;
    let start: Item | undefined;
    // A state filter reads past the others: bounded, so a listing of a rare state costs a few pages at most.
    for (let pages = 0; found.length < limit && pages < (state === undefined ? 1000 : 20); pages++) {
      const page = await this.table.query({
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
        ...(state !== undefined && { FilterExpression: '#state = :state' }),
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', ...(state !== undefined && { '#state': 'state' }) },
        ExpressionAttributeValues: {
          ':pk': campaignPk(campaignId),
          ':from': `R#${seqPart(from)}`,
          ':to': `R#${seqPart(LAST_SEQ)}`,
          ...(state !== undefined && { ':state': state }),
        },
        ConsistentRead: true,
        Limit: Math.min(1000, state === undefined ? limit - found.length : 500),
        ...(start && { ExclusiveStartKey: start }),
      });
      found.push(...page.items.map((item) => versioned(CampaignRecipientSchema, item)));
      start = page.lastKey;
      if (!start) break;
    }
    return found.slice(0, limit);
  }

  async getRecipientMark(campaignId: string, contactId: string): Promise<Versioned<RecipientMark> | undefined> {
    const item = await this.table.get(markKey(campaignId, contactId));
    return item && versioned(MarkSchema, item);
  }

  async getCounter(campaignId: string, shard: number): Promise<Versioned<CampaignCounter> | undefined> {
    const item = await this.table.get(counterKey(campaignId, shard));
    return item && (versioned(CounterSchema, item) as Versioned<CampaignCounter>);
  }

  async listCounters(campaignId: string): Promise<CampaignCounter[]> {
    const { items } = await this.table.query({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': campaignPk(campaignId), ':prefix': 'C#' },
      ConsistentRead: true,
    });
    return items.map((item) => CounterSchema.parse(item) as CampaignCounter);
  }

  async getPacing(k: string): Promise<Versioned<PacingState> | undefined> {
    const item = await this.table.get(pacingKey(k));
    return item && versioned(PacingSchema, item);
  }

  async getNotification(id: string): Promise<NotificationPointer | undefined> {
    const item = await this.table.get(notificationKey(id));
    return item && NotificationPointerSchema.parse(item);
  }

  async countUsage(channel: Channel, accountId: string, month: string, kind: 'pushes', by: number): Promise<number> {
    return this.table.increment(usageKey(channel, accountId, month), kind, by, Math.ceil(Date.now() / 1000) + USAGE_TTL_SECONDS);
  }

  async getUsage(channel: Channel, accountId: string, month: string): Promise<{ readonly pushes: number }> {
    const item = await this.table.get(usageKey(channel, accountId, month));
    return { pushes: Number(item?.pushes ?? 0) };
  }

  async commit(writes: readonly DeliveryWrite[]): Promise<void> {
    await this.table.commit(writes.map(toTableWrite));
  }
}
