/**
 * Contacts: one customer across channels. Read and find (by channel identity, phone or email), update the
 * profile, link an identity, merge two contacts and undo it, erase a contact's personal data, and export
 * everything held on one contact.
 */
import * as z from 'zod';
import { ChannelSchema } from '../../domain/content.ts';
import {
  ContactRuleError,
  eraseContact,
  linkIdentity,
  mergeContacts,
  unmergeContacts,
  updateProfile,
} from '../../domain/conversations/contacts.ts';
import { normalizePhone } from '../../domain/conversations/identities.ts';
import { ConsentEntrySchema, keepOptOutsAfterUnmerge } from '../../domain/delivery/consent.ts';
import {
  AttributesSchema,
  ContactSchema,
  IdentityKeySchema,
  MessageSchema,
  NoteSchema,
  ThreadSchema,
  type Contact,
} from '../../domain/conversations/model.ts';
import { publicThread } from '../../domain/conversations/threads.ts';
import { ApiError } from '../errors.ts';
import { CursorSchema, json, jsonBody, jsonResponse, LimitSchema, route, type ApiContext } from '../kit.ts';
import type { Api, ApiDeps } from '../deps.ts';

const ContactParams = z.object({ contactId: z.string().min(1).max(200).describe('A contact id') });
const ContactListSchema = z.object({ items: z.array(ContactSchema) }).meta({ id: 'ContactList' });

const FindContactsQuerySchema = z.object({
  channel: ChannelSchema.optional(),
  accountId: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('With `channel` and `externalUserId`: the account; default: every account of the channel'),
  externalUserId: z.string().min(1).max(256).optional(),
  phone: z.string().min(3).max(32).optional().describe('E.164, e.g. +14155550123'),
  email: z.string().email().max(254).optional(),
});

const UpdateContactRequestSchema = z
  .strictObject({
    name: z.string().min(1).max(200).nullable().optional(),
    phone: z.string().min(3).max(32).nullable().optional().describe('E.164; a phone set here is not verified and joins nothing by itself'),
    email: z.email().max(254).nullable().optional(),
    locale: z.string().min(2).max(35).nullable().optional(),
    attributes: AttributesSchema.optional().describe('Sets these attributes; `null` removes one'),
  })
  .refine((r) => Object.keys(r).length > 0, { message: 'must change something' })
  .meta({ id: 'UpdateContactRequest' });

// As long as the ids the other routes take: a longer one is no provider's, and as a key DynamoDB would refuse it.
const LinkIdentityRequestSchema = IdentityKeySchema.extend({
  accountId: IdentityKeySchema.shape.accountId.max(64),
  externalUserId: IdentityKeySchema.shape.externalUserId.max(256),
})
  .strict()
  .meta({ id: 'LinkIdentityRequest' });
const MergeRequestSchema = z
  .strictObject({
    contactId: z.string().min(1).max(200).describe('The contact merged into this one'),
    reason: z.string().min(1).max(500).optional().describe('Why, for the record'),
  })
  .meta({ id: 'MergeRequest' });
const UnmergeRequestSchema = z
  .strictObject({ contactId: z.string().min(1).max(200).describe('The contact to take back out') })
  .meta({ id: 'UnmergeRequest' });

const ExportSchema = z
  .object({
    contact: ContactSchema,
    threads: z.array(ThreadSchema),
    notes: z.array(NoteSchema).describe('Every note of those threads'),
    consents: z
      .array(ConsentEntrySchema)
      .describe("Every change in the consent ledger of the contact and of the contacts merged into it, each contact's newest first"),
    messages: z.array(MessageSchema).describe('One page, oldest first'),
    nextCursor: z.string().optional().describe('More messages: pass it as `cursor`'),
  })
  .meta({ id: 'ContactExport' });

const getContact = route({
  method: 'get',
  path: '/v1/contacts/{contactId}',
  operationId: 'getContact',
  summary: 'One contact, with its channel identities',
  tags: ['contacts'],
  scope: 'read',
  errors: ['not_found'],
  request: { params: ContactParams },
  responses: { 200: jsonResponse(ContactSchema, 'The contact (a merged one names the contact it was merged into)') },
});

const findContacts = route({
  method: 'get',
  path: '/v1/contacts',
  operationId: 'findContacts',
  summary: 'Find contacts by channel identity, phone or email',
  tags: ['contacts'],
  scope: 'read',
  errors: ['invalid_request'],
  request: { query: FindContactsQuerySchema },
  responses: { 200: jsonResponse(ContactListSchema, 'The contacts found, oldest first') },
});

const updateContact = route({
  method: 'patch',
  path: '/v1/contacts/{contactId}',
  operationId: 'updateContact',
  summary: "Change a contact's profile or attributes",
  tags: ['contacts'],
  scope: 'write',
  errors: ['not_found', 'invalid_request', 'conflict'],
  request: { params: ContactParams, body: jsonBody(UpdateContactRequestSchema) },
  responses: { 200: jsonResponse(ContactSchema, 'The contact as changed') },
});

const linkContactIdentity = route({
  method: 'post',
  path: '/v1/contacts/{contactId}/identities',
  operationId: 'linkIdentity',
  summary: 'Link a channel identity to the contact (moving it from another contact if it has one)',
  tags: ['contacts'],
  scope: 'write',
  errors: ['not_found', 'invalid_request', 'conflict'],
  request: { params: ContactParams, body: jsonBody(LinkIdentityRequestSchema) },
  responses: { 200: jsonResponse(ContactSchema, 'The contact with the identity') },
});

const mergeContact = route({
  method: 'post',
  path: '/v1/contacts/{contactId}/merge',
  operationId: 'mergeContacts',
  summary: 'Merge another contact into this one: one contact, one thread holding both histories',
  tags: ['contacts'],
  scope: 'write',
  errors: ['not_found', 'invalid_request', 'conflict'],
  request: { params: ContactParams, body: jsonBody(MergeRequestSchema) },
  responses: { 200: jsonResponse(ContactSchema, 'The surviving contact') },
});

const unmergeContact = route({
  method: 'post',
  path: '/v1/contacts/{contactId}/unmerge',
  operationId: 'unmergeContacts',
  summary: 'Undo a merge: both contacts and threads back as they were',
  tags: ['contacts'],
  scope: 'write',
  errors: ['not_found', 'conflict'],
  request: { params: ContactParams, body: jsonBody(UnmergeRequestSchema) },
  responses: {
    200: jsonResponse(z.object({ contact: ContactSchema, restored: ContactSchema }).meta({ id: 'UnmergeResult' }), 'Both contacts'),
  },
});

const eraseContactRoute = route({
  method: 'delete',
  path: '/v1/contacts/{contactId}',
  operationId: 'eraseContact',
  summary: "Erase a contact's personal data (profile, identities, message content and media)",
  tags: ['contacts'],
  scope: 'admin',
  errors: ['not_found', 'conflict'],
  request: { params: ContactParams },
  responses: { 202: jsonResponse(ContactSchema, 'Erased; message content is erased in the background') },
});

const exportContact = route({
  method: 'get',
  path: '/v1/contacts/{contactId}/export',
  operationId: 'exportContact',
  summary: 'Everything held on one contact: profile, identities, threads, notes, consent ledger and messages',
  tags: ['contacts'],
  scope: 'admin',
  errors: ['not_found', 'invalid_cursor'],
  request: { params: ContactParams, query: z.object({ limit: LimitSchema, cursor: CursorSchema }) },
  responses: { 200: jsonResponse(ExportSchema, 'The contact, and one page of its messages') },
});

/** Every item of a paged listing, page after page (an export must not stop at the first page). */
const everyPage = async <T>(list: (cursor?: string) => Promise<{ items: T[]; nextCursor?: string | undefined }>): Promise<T[]> => {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return items;
};

/** How many contacts an export walks: this one, those merged into it, and those merged into them before. */
const MAX_EXPORTED_CONTACTS = 100;

const actorOf = (c: ApiContext) => ({ type: 'api_key' as const, id: c.get('principal').keyId });

/** Domain refusals as API errors. */
const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ContactRuleError) throw new ApiError(error.code, error.message);
    throw error;
  }
};

export const registerContactRoutes = (app: Api, deps: ApiDeps): void => {
  const store = deps.conversations;
  const now = () => deps.clock.now().toISOString();

  app.openapi(getContact, async (c) => {
    const { contactId } = c.req.valid('param');
    const contact = await store.getContact(contactId);
    if (!contact) throw new ApiError('not_found', `No contact ${contactId}`);
    return json(c, 200, contact.value) as never;
  });

  app.openapi(findContacts, async (c) => {
    const query = c.req.valid('query');
    const criteria = [query.externalUserId !== undefined, query.phone !== undefined, query.email !== undefined].filter(Boolean).length;
    if (criteria !== 1) throw new ApiError('invalid_request', 'Find by exactly one of: channel and externalUserId, phone, email');
    let found: Contact[] = [];
    if (query.externalUserId !== undefined) {
      if (query.channel === undefined) throw new ApiError('invalid_request', 'externalUserId goes with channel');
      const threadIds = await store.listParticipantThreads(query.channel, query.externalUserId);
      const ids = new Set<string>();
      for (const threadId of threadIds) {
        const thread = await store.getThread(threadId);
        if (thread) ids.add(thread.value.contactId);
      }
      for (const id of ids) {
        let contact = await store.getContact(id);
        for (let hops = 0; contact?.value.mergedInto !== undefined && hops < 10; hops++)
          contact = await store.getContact(contact.value.mergedInto);
        if (
          contact &&
          contact.value.state === 'active' &&
          contact.value.identities.some(
            (i) =>
              i.channel === query.channel &&
              i.externalUserId === query.externalUserId &&
              (query.accountId === undefined || i.accountId === query.accountId),
          ) &&
          !found.some((f) => f.id === contact.value.id)
        ) {
          found.push(contact.value);
        }
      }
    } else if (query.phone !== undefined) {
      const phone = normalizePhone(query.phone);
      if (phone === undefined) throw new ApiError('invalid_request', 'phone must be a phone number (E.164, like +14155550123)');
      found = await store.findContacts({ phone });
    } else if (query.email !== undefined) {
      found = await store.findContacts({ email: query.email });
    }
    return json(c, 200, { items: found }) as never;
  });

  app.openapi(updateContact, async (c) => {
    const { contactId } = c.req.valid('param');
    const input = c.req.valid('json');
    return json(c, 200, await guarded(() => updateProfile(store, contactId, input, now()))) as never;
  });

  app.openapi(linkContactIdentity, async (c) => {
    const { contactId } = c.req.valid('param');
    const input = c.req.valid('json');
    if (!deps.channels.includes(input.channel)) throw new ApiError('invalid_request', `${input.channel} is not enabled on this deployment`);
    return json(c, 200, await guarded(() => linkIdentity(store, contactId, input, actorOf(c), now()))) as never;
  });

  app.openapi(mergeContact, async (c) => {
    const { contactId } = c.req.valid('param');
    const input = c.req.valid('json');
    const merged = await guarded(() =>
      mergeContacts(store, contactId, input.contactId, input.reason ?? 'merged through the API', actorOf(c), now()),
    );
    return json(c, 200, merged) as never;
  });

  app.openapi(unmergeContact, async (c) => {
    const { contactId } = c.req.valid('param');
    const input = c.req.valid('json');
    const mergedAt = (await store.getContact(contactId))?.value.merges.find((m) => m.contactId === input.contactId)?.at;
    const at = now();
    // A STOP written while the two were one stays a STOP for both. Copied first: while merged it changes no verdict
    // (both contacts' consent decides already), and a retry after a failure here copies what is missing.
    if (mergedAt !== undefined) await keepOptOutsAfterUnmerge(deps.delivery, contactId, input.contactId, mergedAt, at);
    const result = await guarded(() => unmergeContacts(store, contactId, input.contactId, actorOf(c), at));
    return json(c, 200, { contact: result.survivor, restored: result.restored }) as never;
  });

  app.openapi(eraseContactRoute, async (c) => {
    const { contactId } = c.req.valid('param');
    const erased = await guarded(() => eraseContact(store, contactId, actorOf(c), now()));
    return json(c, 202, erased) as never;
  });

  app.openapi(exportContact, async (c) => {
    const { contactId } = c.req.valid('param');
    const { limit, cursor } = c.req.valid('query');
    const contact = await store.getContact(contactId);
    if (!contact) throw new ApiError('not_found', `No contact ${contactId}`);
    const thread = await store.getThread(contact.value.threadId);
    const threadIds = thread ? [thread.value.id, ...(thread.value.mergedThreads ?? [])] : [];
    const threads = (await Promise.all(threadIds.map((id) => store.getThread(id)))).flatMap((t) => (t ? [publicThread(t.value)] : []));
    const notes = (await Promise.all(threadIds.map((id) => everyPage((next) => store.listNotes(id, 100, next))))).flat();
    // The ledger is kept per contact: a merge leaves the merged contact's entries under its own id.
    const contactIds = [contact.value.id];
    const pending = contact.value.merges.map((m) => m.contactId);
    while (pending.length > 0 && contactIds.length < MAX_EXPORTED_CONTACTS) {
      const id = pending.shift() as string;
      if (contactIds.includes(id)) continue;
      contactIds.push(id);
      pending.push(...((await store.getContact(id))?.value.merges.map((m) => m.contactId) ?? []));
    }
    const consents = (
      await Promise.all(contactIds.map((id) => everyPage((next) => deps.delivery.listConsentEntries(id, 100, next))))
    ).flat();
    const page = threadIds.length > 0 ? await store.listMessages(threadIds, limit, cursor) : { items: [] };
    return json(c, 200, {
      contact: contact.value,
      threads,
      notes,
      consents,
      messages: page.items.map((m) => MessageSchema.parse(m)),
      ...(page.nextCursor && { nextCursor: page.nextCursor }),
    }) as never;
  });
};
