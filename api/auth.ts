/**
 * Integrator API keys. Only the SHA-256 of a key's secret is stored: the secret itself is shown once, when
 * the key is made. A SHA-256 (not a slow password hash) is enough because the secret is 256 random bits,
 * so there is nothing to guess, and it lets the store find the key by its hash in one read.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyStore, Principal, Scope, StoredApiKey } from '../domain/access/model.ts';

/** Prefix of generated secrets, so a leaked one is recognizable (secret scanners, logs). */
export const API_KEY_PREFIX = 'prl_';

export type { Principal };

// Generous for any key a person would set, small enough that a huge header is not hashed.
const MAX_SECRET_LENGTH = 512;

/** Hex SHA-256 of a secret: what the store keeps and looks keys up by. */
export const hashApiKey = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** The id a secret's key gets: derived from the hash, so the same secret always names the same key. */
export const apiKeyIdOf = (secret: string): string => `key_${hashApiKey(secret).slice(0, 16)}`;

/** A new secret and its id. Store {@link apiKeyRecord} of it; hand the secret to the integrator once. */
export const generateApiKey = (): { readonly id: string; readonly secret: string } => {
  const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { id: apiKeyIdOf(secret), secret };
};

/** The record to store for a secret (generated, or given by the operator as `PARLEY_API_KEY`). */
export const apiKeyRecord = (
  secret: string,
  name: string,
  createdAt: string,
  scopes: readonly Scope[] = ['admin'],
  createdBy?: string,
): StoredApiKey => ({
  id: apiKeyIdOf(secret),
  keyHash: hashApiKey(secret),
  name,
  scopes: [...scopes],
  createdAt,
  ...(createdBy !== undefined && { createdBy }),
});

/**
 * The secret of an `Authorization: Bearer <secret>` header, or undefined when the header is missing or
 * has another form. The scheme name is case-insensitive.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export const bearerSecret = (authorization: string | undefined): string | undefined => {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '');
  const secret = match?.[1];
  return secret !== undefined && secret.length <= MAX_SECRET_LENGTH ? secret : undefined;
};

/** The principal an `Authorization` header proves, or undefined when it proves none. */
export const authorize = async (
  keys: Pick<ApiKeyStore, 'findByHash'>,
  authorization: string | undefined,
): Promise<Principal | undefined> => {
  const secret = bearerSecret(authorization);
  if (secret === undefined) return undefined;
  const record = await keys.findByHash(hashApiKey(secret));
  return record ? { keyId: record.id, scopes: record.scopes } : undefined;
};
