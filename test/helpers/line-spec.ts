/**
 * Checks LINE request bodies and webhook bodies against LINE's own OpenAPI documents (test/specs/line/),
 * with ajv. OpenAPI 3.0 is not JSON Schema, so the component schemas are translated first:
 * - `discriminator` (on a base schema whose subtypes `allOf` the base) becomes a dispatch on the property:
 *   a value named in the mapping must match that subtype; an unknown value is refused for request bodies
 *   (Parley only sends documented types) and, for webhooks, checked against the base only (LINE adds event
 *   types without notice, and the connector must ignore them).
 * - a `$ref` to a base from inside a subtype's `allOf` points at the base without its dispatch (otherwise
 *   base → subtype → base loops).
 * - objects are closed (`unevaluatedProperties: false`, which sees through `allOf` and `$ref`), so a
 *   misspelt or invented field fails instead of passing silently. Bases stay open: their subtypes add fields.
 * - `nullable`, `externalDocs`, `example`, `x-*` are translated or dropped; OpenAPI formats are registered.
 * @see https://spec.openapis.org/oas/v3.0.3#discriminator-object
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';

type Schema = Record<string, unknown>;
type UnknownDiscriminator = 'reject' | 'base';

const SPEC_DIR = new URL('../specs/line/', import.meta.url);
export const LINE_MESSAGING_SPEC_PATH = fileURLToPath(new URL('messaging-api.yml', SPEC_DIR));
export const LINE_WEBHOOK_SPEC_PATH = fileURLToPath(new URL('webhook.yml', SPEC_DIR));

const COMPONENT_PREFIX = '#/components/schemas/';
const DROPPED = new Set(['discriminator', 'externalDocs', 'example', 'xml']);

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

interface Discriminated {
  readonly propertyName: string;
  readonly mapping: Readonly<Record<string, string>>;
}

const discriminatorOf = (schema: unknown): Discriminated | undefined => {
  if (!isSchema(schema) || !isSchema(schema['discriminator'])) return undefined;
  const { propertyName, mapping } = schema['discriminator'];
  if (typeof propertyName !== 'string' || !isSchema(mapping)) return undefined;
  return { propertyName, mapping: mapping as Record<string, string> };
};

const defRef = (ref: string, base: boolean): string => `#/$defs/${ref.slice(COMPONENT_PREFIX.length)}${base ? '__base' : ''}`;

/**
 * Translates one OpenAPI schema node. `closed` adds `unevaluatedProperties: false` to an object node;
 * `inAllOf` marks a direct member of an `allOf`, which is never closed (its siblings add properties).
 */
const translate = (node: unknown, bases: ReadonlySet<string>, closed: boolean, inAllOf = false): unknown => {
  if (Array.isArray(node)) return node.map((item) => translate(item, bases, closed));
  if (!isSchema(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key) || key.startsWith('x-') || key === 'nullable') continue;
    if (key === '$ref' && typeof value === 'string' && value.startsWith(COMPONENT_PREFIX)) {
      out[key] = defRef(value, inAllOf && bases.has(value));
    } else if (key === 'properties' && isSchema(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, translate(sub, bases, closed)]));
    } else if (key === 'allOf' && Array.isArray(value)) {
      out[key] = value.map((sub) => translate(sub, bases, closed, true));
    } else if (key === 'additionalProperties' || key === 'items' || key === 'not') {
      out[key] = translate(value, bases, closed);
    } else if (key === 'oneOf' || key === 'anyOf') {
      out[key] = translate(value, bases, closed);
    } else {
      out[key] = value;
    }
  }
  if (node['nullable'] === true && typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
  const objectLike = out['type'] === 'object' || 'properties' in out || 'allOf' in out;
  if (closed && !inAllOf && objectLike && !('additionalProperties' in out) && !('$ref' in out)) out['unevaluatedProperties'] = false;
  return out;
};

/** The `$defs` of a document: every component schema, with a dispatch and an open `__base` for each base. */
const translateComponents = (document: unknown, closed: boolean, unknown: UnknownDiscriminator): Record<string, unknown> => {
  const schemas =
    isSchema(document) && isSchema(document['components']) && isSchema(document['components']['schemas'])
      ? document['components']['schemas']
      : {};
  const bases = new Set(
    Object.keys(schemas)
      .filter((name) => discriminatorOf(schemas[name]))
      .map((name) => `${COMPONENT_PREFIX}${name}`),
  );
  const defs: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const discriminator = discriminatorOf(schema);
    if (discriminator === undefined) {
      defs[name] = translate(schema, bases, closed);
      continue;
    }
    defs[`${name}__base`] = translate(schema, bases, false, true);
    const { propertyName, mapping } = discriminator;
    const known = Object.keys(mapping);
    const branches: Schema[] = Object.entries(mapping).map(([value, target]) => ({
      if: { properties: { [propertyName]: { const: value } }, required: [propertyName] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword
      then: { $ref: defRef(target, false) },
    }));
    const dispatch: Schema = { type: 'object', required: [propertyName], allOf: branches };
    if (unknown === 'reject') dispatch['properties'] = { [propertyName]: { enum: known } };
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword
    else branches.push({ if: { properties: { [propertyName]: { not: { enum: known } } } }, then: { $ref: `#/$defs/${name}__base` } });
    defs[name] = dispatch;
  }
  return defs;
};

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

const newAjv = () => {
  const Ajv2020 = Ajv2020Module.default;
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTypes: false, allowUnionTypes: true });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('uri', { type: 'string', validate: (s: string) => URL.canParse(s) });
  ajv.addFormat('uuid', { type: 'string', validate: (s: string) => UUID.test(s) });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)) });
  return ajv;
};

const cache = new Map<string, ValidateFunction>();

/** A validator for one component schema of one of LINE's documents. */
const validatorFor = (specPath: string, schemaName: string, unknown: UnknownDiscriminator): ValidateFunction => {
  const key = `${specPath}#${schemaName}#${unknown}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const defs = translateComponents(parseYaml(readFileSync(specPath, 'utf8')), true, unknown);
  if (!(schemaName in defs)) throw new Error(`${specPath} has no schema ${schemaName}`);
  const validator = newAjv().compile({ $defs: defs, $ref: `#/$defs/${schemaName}` });
  cache.set(key, validator);
  return validator;
};

const violationsOf = (validator: ValidateFunction, value: unknown): string[] =>
  validator(value)
    ? []
    : (validator.errors ?? [])
        // `if` failures only say a branch was taken; the branch's own errors say what is wrong.
        .filter((error) => error.keyword !== 'if')
        .map(
          (error) =>
            `${error.instancePath || '(root)'} ${error.message ?? error.keyword}${error.params && 'unevaluatedProperty' in error.params ? ` '${String(error.params.unevaluatedProperty)}'` : ''}`,
        );

export type LineSendOperation = 'push' | 'reply';

const REQUEST_SCHEMAS: Readonly<Record<LineSendOperation, string>> = { push: 'PushMessageRequest', reply: 'ReplyMessageRequest' };

/**
 * Every way a request body (and its headers) breaks the Messaging API document; empty when it conforms.
 * `X-Line-Retry-Key` must be a UUID (the push operation's header parameter).
 */
export const lineRequestViolations = (
  operation: LineSendOperation,
  body: unknown,
  headers: Readonly<Record<string, string | undefined>> = {},
): string[] => {
  const violations = violationsOf(validatorFor(LINE_MESSAGING_SPEC_PATH, REQUEST_SCHEMAS[operation], 'reject'), body);
  const retryKey = headers['x-line-retry-key'];
  if (retryKey !== undefined) {
    if (operation !== 'push') violations.push(`X-Line-Retry-Key is not a parameter of ${operation}`);
    else if (!UUID.test(retryKey)) violations.push(`X-Line-Retry-Key ${retryKey} is not a UUID`);
  }
  return violations;
};

/** Throws with every violation when a request does not conform. */
export const assertLineRequest = (
  operation: LineSendOperation,
  body: unknown,
  headers?: Readonly<Record<string, string | undefined>>,
): void => {
  const violations = lineRequestViolations(operation, body, headers);
  if (violations.length > 0) throw new Error(`invalid LINE ${operation} request:\n  ${violations.join('\n  ')}`);
};

/** Every way a body breaks a named schema of the Messaging API document (responses, for the sandbox). */
export const lineMessagingSchemaViolations = (schemaName: string, value: unknown): string[] =>
  violationsOf(validatorFor(LINE_MESSAGING_SPEC_PATH, schemaName, 'reject'), value);

/** Every way a webhook body breaks the webhook document's CallbackRequest; empty when it conforms. */
export const lineWebhookViolations = (body: unknown): string[] =>
  violationsOf(validatorFor(LINE_WEBHOOK_SPEC_PATH, 'CallbackRequest', 'base'), body);
