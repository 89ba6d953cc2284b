/**
 * The delivery store, by aggregate: the consent ledger, the template registry, campaigns with their recipients
 * and progress counters, pacing turns, notification lookups and push usage. Like the conversation store, records
 * are read with their versions, every decision is made in `domain/delivery/`, and writes go through
 * {@link DeliveryStore.commit}, all or nothing, each record only if it still has the version read.
 */
import type { Channel } from '../content.ts';
import type { Page, Versioned, Write } from '../shared/store.ts';
import type {
  Campaign,
  CampaignCounter,
  CampaignRecipient,
  ConsentEntry,
  ConsentScope,
  NotificationPointer,
  PacingState,
  RecipientMark,
  RecipientState,
  Template,
} from './model.ts';

export type { NotificationPointer };

export interface TemplateKey {
  readonly channel: Channel;
  readonly accountId: string;
  readonly name: string;
  readonly language: string;
}

export type DeliveryWrite =
  | Write<'consentEntry', ConsentEntry, { readonly contactId: string; readonly id: string }>
  | Write<'consentState', ConsentEntry, ConsentScope>
  | Write<'template', Template, TemplateKey>
  | Write<'campaign', Campaign, { readonly id: string }>
  | Write<'recipient', CampaignRecipient, { readonly campaignId: string; readonly seq: number }>
  | Write<'recipientMark', RecipientMark, { readonly campaignId: string; readonly contactId: string }>
  | Write<'campaignCounter', CampaignCounter, { readonly campaignId: string; readonly shard: number }>
  | Write<'pacing', PacingState, { readonly key: string }>
  | Write<'notification', NotificationPointer, { readonly id: string }>;

export interface DeliveryStore {
  getConsentEntry(contactId: string, id: string): Promise<Versioned<ConsentEntry> | undefined>;
  getConsentState(scope: ConsentScope): Promise<Versioned<ConsentEntry> | undefined>;
  /** The current state of every scope the contact has one for. */
  listConsentStates(contactId: string): Promise<ConsentEntry[]>;
  /** The ledger of a contact, newest first. */
  listConsentEntries(contactId: string, limit: number, cursor?: string): Promise<Page<ConsentEntry>>;

  getTemplate(key: TemplateKey): Promise<Versioned<Template> | undefined>;
  /** An account's templates, by name and language. */
  listTemplates(channel: Channel, accountId: string): Promise<Versioned<Template>[]>;

  getCampaign(id: string): Promise<Versioned<Campaign> | undefined>;
  getRecipient(campaignId: string, seq: number): Promise<Versioned<CampaignRecipient> | undefined>;
  /** Recipients from position `from` on, in order; with `state`, only those in it. */
  listRecipients(campaignId: string, from: number, limit: number, state?: RecipientState): Promise<Versioned<CampaignRecipient>[]>;
  getRecipientMark(campaignId: string, contactId: string): Promise<Versioned<RecipientMark> | undefined>;
  getCounter(campaignId: string, shard: number): Promise<Versioned<CampaignCounter> | undefined>;
  listCounters(campaignId: string): Promise<CampaignCounter[]>;

  getPacing(key: string): Promise<Versioned<PacingState> | undefined>;

  getNotification(id: string): Promise<NotificationPointer | undefined>;

  /** Adds to an account's count of sends of a kind (LINE pushes) in a month (`YYYY-MM`); answers the new count. */
  countUsage(channel: Channel, accountId: string, month: string, kind: 'pushes', by: number): Promise<number>;
  getUsage(channel: Channel, accountId: string, month: string): Promise<{ readonly pushes: number }>;

  /**
   * Writes every record, or none: each put only if the record still has `version` (absent for
   * {@link NEW_RECORD}), each delete likewise. Throws `ConflictError` when one does not.
   */
  commit(writes: readonly DeliveryWrite[]): Promise<void>;
}
