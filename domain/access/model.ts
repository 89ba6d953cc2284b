/**
 * Who may call the integrator API, and for what. A key carries scopes: `read` (every GET), `write` (replies,
 * thread and contact changes, notifications; includes `read`) and `admin` (accounts and their credentials, keys,
 * webhook subscriptions, agents and teams, erasure and export of personal data; includes `write`). Only the SHA-256 of a key's secret
 * is stored: the secret is shown once, when the key is made.
 */
import * as z from 'zod';
import { IsoInstantSchema } from '../shared/time.ts';

export const SCOPES = ['read', 'write', 'admin'] as const;
export const ScopeSchema = z.enum(SCOPES).meta({ id: 'Scope' });
export type Scope = z.infer<typeof ScopeSchema>;

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string().max(200),
    scopes: z.array(ScopeSchema).min(1),
    createdAt: IsoInstantSchema,
    createdBy: z.string().optional().describe('The key that made this one; absent for keys made at start'),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof ApiKeySchema>;

/** A key as stored: its record and the hash it is found by. */
export interface StoredApiKey extends ApiKey {
  readonly keyHash: string;
}

/** Who made an API call: the key's id (the `author.id` of the messages it sends) and what it may do. */
export interface Principal {
  readonly keyId: string;
  readonly scopes: readonly Scope[];
}

/** Each scope includes the ones before it: a `write` key reads, an `admin` key also writes. */
const RANK: Readonly<Record<Scope, number>> = { read: 1, write: 2, admin: 3 };

/** True when the principal's scopes allow what `needed` names. */
export const allows = (principal: Principal, needed: Scope): boolean => principal.scopes.some((scope) => RANK[scope] >= RANK[needed]);

export interface ApiKeyStore {
  findByHash(keyHash: string): Promise<StoredApiKey | undefined>;
  get(id: string): Promise<StoredApiKey | undefined>;
  list(): Promise<StoredApiKey[]>;
  /** Stores a new key; storing the same key (same id and hash) again changes nothing. */
  create(key: StoredApiKey): Promise<void>;
  /** Deletes the key; false when there was none. From then on its hash finds nothing. */
  revoke(id: string): Promise<boolean>;
}

/** Requests a key may make per second, and what a request over it is told. */
export interface RateLimiter {
  /** Counts one request of the key; `retryAfterSeconds` when it is over the limit. */
  take(keyId: string): Promise<{ readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number }>;
}
