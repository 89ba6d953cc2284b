/**
 * Validates WhatsApp Cloud API bodies against the vendored OpenAPI 3.1 document
 * (test/specs/whatsapp/business-messaging-api_v23.0.yaml) with ajv, $refs resolved inside the document:
 * outbound bodies against the request body of `POST /{Version}/{Phone-Number-ID}/messages`
 * (`#/components/schemas/Message`), webhook bodies against the request body of `POST /whatsapp/webhooks`
 * (`#/components/schemas/WebhookPayload`).
 *
 * Four defects of the published document are corrected in memory, each narrowly, and nothing is relaxed:
 * 1. The outbound message schemas put `additionalProperties: false` in the second branch of an `allOf` whose
 *    first branch (`BaseMessageProperties`) declares `messaging_product`, `to`, ...; read literally, that
 *    refuses every message Meta documents. The intent (no unknown property) is kept by moving the ban to
 *    the `allOf` itself as `unevaluatedProperties: false`, which sees the properties of both branches.
 * 2. The webhook schemas were merged in from a separate document, and their `$ref`s still name the
 *    outbound schemas (`TextMessage`, `BaseMessageProperties`, ...) whose inbound twins were renamed with a
 *    suffix (`TextMessage_2`, `BaseMessageProperties_1`, ...). Inside the webhook validator those refs are
 *    pointed at the twins; `UnsupportedMessage.errors` names the Graph error-response object (which
 *    requires a `type` no webhook error has, not even the document's own example) and is pointed at the
 *    webhook error object `StatusError`.
 * 3. Template components and their parameters (`TemplateComponent`, `ParameterObject`,
 *    `ButtonParameterObject`) are typed by an OpenAPI `discriminator` alone, which JSON Schema ignores, so
 *    their mapped schemas (`ButtonComponent`, `TextParameter`, ...) were never applied. Each becomes the
 *    `oneOf` its mapping names, the mapped schemas' own `allOf` reference to it pointing at a copy without
 *    the discriminator.
 * 4. A template button's `index` has the pattern `^[2-6, 11-14]$`, a character class that refuses `0`
 *    (the first button) and `7` to `9`, against its own description ("Position index of the button (0-9)")
 *    and example (`'0'`). It becomes `^[0-9]$`.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

export const WHATSAPP_SPEC_URL = new URL('../specs/whatsapp/business-messaging-api_v23.0.yaml', import.meta.url);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Inbound twins of the names the webhook schemas refer to. */
const WEBHOOK_REF_TWINS: Readonly<Record<string, string>> = {
  BaseMessageProperties: 'BaseMessageProperties_1',
  TextMessage: 'TextMessage_2',
  ReactionMessage: 'ReactionMessage_1',
  AudioMessage: 'AudioMessage_1',
  DocumentMessage: 'DocumentMessage_1',
  ImageMessage: 'ImageMessage_1',
  StickerMessage: 'StickerMessage_1',
  VideoMessage: 'VideoMessage_1',
  LocationMessage: 'LocationMessage_1',
  ContactObject: 'ContactObject_1',
  ErrorObject: 'StatusError',
};

const SCHEMAS = '#/components/schemas/';

const walk = (node: unknown, visit: (node: Json) => void): void => {
  if (Array.isArray(node)) for (const child of node) walk(child, visit);
  else if (isObject(node)) {
    visit(node);
    for (const child of Object.values(node)) walk(child, visit);
  }
};

let cachedDocument: Json | undefined;
const loadDocument = (): Json => {
  cachedDocument ??= parse(readFileSync(WHATSAPP_SPEC_URL, 'utf8')) as Json;
  return cachedDocument;
};

/** The document's own description of a template button's index (correction 4). */
const BUTTON_INDEX_PATTERN = '^[0-9]$';

/** Correction 3: a discriminator without `oneOf` → the `oneOf` of its mapping. */
const applyBareDiscriminators = (schemas: Json): void => {
  for (const [name, schema] of Object.entries(schemas)) {
    if (!isObject(schema) || schema['oneOf'] !== undefined) continue;
    const discriminator = schema['discriminator'];
    const mapping = isObject(discriminator) ? discriminator['mapping'] : undefined;
    if (!isObject(mapping)) continue;
    const { discriminator: _annotation, ...unmapped } = schema;
    const unmappedName = `${name}__unmapped`;
    schemas[unmappedName] = unmapped;
    const targets = Object.values(mapping).filter((ref): ref is string => typeof ref === 'string');
    for (const target of targets) {
      walk(schemas[target.slice(SCHEMAS.length)], (node) => {
        if (node['$ref'] === `${SCHEMAS}${name}`) node['$ref'] = `${SCHEMAS}${unmappedName}`;
      });
    }
    schemas[name] = { oneOf: targets.map((ref) => ({ $ref: ref })) };
  }
};

/**
 * Correction 1: `allOf: [Base, {additionalProperties: false, ...}]` → `unevaluatedProperties: false` on the
 * allOf; corrections 3 and 4.
 */
const outboundDocument = (): Json => {
  const document = structuredClone(loadDocument());
  const components = document['components'];
  if (isObject(components) && isObject(components['schemas'])) applyBareDiscriminators(components['schemas']);
  walk(document, (node) => {
    const index = node['index'];
    if (isObject(index) && index['pattern'] === '^[2-6, 11-14]$') index['pattern'] = BUTTON_INDEX_PATTERN;
  });
  walk(document, (node) => {
    const allOf = node['allOf'];
    if (!Array.isArray(allOf)) return;
    let closed = false;
    for (const branch of allOf) {
      if (isObject(branch) && branch['additionalProperties'] === false) {
        delete branch['additionalProperties'];
        closed = true;
      }
    }
    if (closed) node['unevaluatedProperties'] = false;
  });
  return document;
};

/** Correction 2: webhook refs to their inbound twins. */
const webhookDocument = (): Json => {
  const document = structuredClone(loadDocument());
  walk(document, (node) => {
    const ref = node['$ref'];
    if (typeof ref === 'string' && ref.startsWith(SCHEMAS)) {
      const twin = WEBHOOK_REF_TWINS[ref.slice(SCHEMAS.length)];
      if (twin) node['$ref'] = `${SCHEMAS}${twin}`;
    }
  });
  return document;
};

const compile = (document: Json, schemaName: string): ValidateFunction => {
  // OpenAPI keywords (`example`, `discriminator`, `xml`) are annotations here; formats are not checked
  // (the document uses non-standard ones such as `url` and `float`).
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ ...document, $id: 'whatsapp-openapi' });
  return ajv.compile({ $ref: `whatsapp-openapi${SCHEMAS}${schemaName}` });
};

let messageValidator: ValidateFunction | undefined;
let webhookValidator: ValidateFunction | undefined;

const describeErrors = (validate: ValidateFunction): string =>
  (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');

/** Violations of a `POST /{Version}/{Phone-Number-ID}/messages` body; empty when it conforms. */
export const whatsappMessageViolations = (body: unknown): string => {
  messageValidator ??= compile(outboundDocument(), 'Message');
  return messageValidator(body) ? '' : describeErrors(messageValidator);
};

/** Violations of a webhook body against `WebhookPayload`; empty when it conforms. */
export const whatsappWebhookViolations = (body: unknown): string => {
  webhookValidator ??= compile(webhookDocument(), 'WebhookPayload');
  return webhookValidator(body) ? '' : describeErrors(webhookValidator);
};

/** Throws with every violation when a request body does not conform. */
export const assertWhatsAppMessage = (body: unknown): void => {
  const violations = whatsappMessageViolations(body);
  if (violations !== '')
    throw new Error(`body does not match the WhatsApp OpenAPI Message schema:\n${violations}\n${JSON.stringify(body)}`);
};
