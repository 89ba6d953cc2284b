/**
 * Checks against Parley's published OpenAPI 3.1 document with ajv (JSON Schema 2020-12, strict, formats
 * checked): the document against the OpenAPI Initiative's schema of OpenAPI 3.1, its component schemas as
 * strict JSON Schema 2020-12, and real API answers
 * against the schema the document gives for their operation and status.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: depending on the loader its default import is the plugin or the module around it.
const addFormats = ((plugin: unknown) => (typeof plugin === 'function' ? plugin : (plugin as { default: unknown }).default))(
  addFormatsModule,
) as (ajv: Ajv2020) => Ajv2020;

/** The base URI the document is registered under, so its `#/components/...` references resolve as written. */
const DOCUMENT_ID = 'https://parley.test/v1/openapi.json';

const strictAjv = () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  // OpenAPI's annotation for raw bytes (a media download), not a check of a JSON value.
  ajv.addFormat('binary', true);
  return ajv;
};

/** JSON pointer tokens (RFC 6901), URI-encoded for use in a `$ref` fragment. */
const token = (part: string) => encodeURIComponent(part.replaceAll('~', '~0').replaceAll('/', '~1'));

const describeErrors = (errors: readonly ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);

/**
 * The problems of a document against the OpenAPI Initiative's schema of OpenAPI 3.1 (the current release, as
 * `@seriousme/openapi-schema-validator` ships and applies it with ajv); empty when it is a valid document.
 */
export const openApi31Problems = async (document: unknown): Promise<string[]> => {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(document) as Record<string, unknown>);
  if (result.valid && validator.version === '3.1') return [];
  if (result.valid) return [`an OpenAPI ${validator.version} document, not 3.1`];
  return typeof result.errors === 'string' ? [result.errors] : describeErrors(result.errors);
};

/** The problems of each component schema as a JSON Schema 2020-12 schema, compiled by ajv in strict mode. */
export const componentSchemaProblems = (document: { components?: { schemas?: Record<string, unknown> } }): string[] => {
  const ajv = strictAjv();
  ajv.addVocabulary(['components']);
  try {
    ajv.addSchema({ $id: DOCUMENT_ID, components: document.components });
    return Object.keys(document.components?.schemas ?? {}).flatMap((name) => {
      try {
        ajv.compile({ $ref: `${DOCUMENT_ID}#/components/schemas/${token(name)}` });
        return [];
      } catch (error) {
        return [`${name}: ${error instanceof Error ? error.message : String(error)}`];
      }
    });
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
};

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };

/** Validates answers against the document: `check(method, path template, status, body)` lists the problems. */
export const responseChecker = (document: { paths: Record<string, Record<string, Operation>>; components?: unknown }) => {
  const ajv = strictAjv();
  // The document's sections that hold schemas, registered under its URI; no other keyword of it is a schema's.
  ajv.addVocabulary(['components', 'paths']);
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components, paths: document.paths });
  const compiled = new Map<string, ValidateFunction>();
  return (method: string, path: string, status: number, body: unknown): string[] => {
    const verb = method.toLowerCase();
    const operation = document.paths[path]?.[verb];
    if (!operation) return [`the document has no operation ${method} ${path}`];
    const response = operation.responses?.[String(status)];
    if (!response)
      return [`${method} ${path} documents no ${status} answer (it documents ${Object.keys(operation.responses ?? {}).join(', ')})`];
    if (response.content?.['application/json']?.schema === undefined) return [`${method} ${path} ${status} documents no JSON body`];
    const ref = `${DOCUMENT_ID}#/paths/${[path, verb, 'responses', String(status), 'content', 'application/json', 'schema'].map(token).join('/')}`;
    let validate = compiled.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: ref });
      compiled.set(ref, validate);
    }
    return validate(body) ? [] : describeErrors(validate.errors);
  };
};

/** Validates a body against one component schema (`Error`, say), for answers of no documented operation. */
export const componentChecker = (document: { components?: unknown }) => {
  const ajv = strictAjv();
  ajv.addVocabulary(['components']);
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components });
  return (name: string, body: unknown): string[] => {
    const validate = ajv.compile({ $ref: `${DOCUMENT_ID}#/components/schemas/${token(name)}` });
    return validate(body) ? [] : describeErrors(validate.errors);
  };
};
