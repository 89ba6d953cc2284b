/**
 * A small JSON Schema (2020-12) validator for the keywords zod's `toJSONSchema` emits, so tests can check
 * API responses against the published OpenAPI document without ajv. A keyword it does not know is
 * reported as an error, never skipped, so a schema it cannot judge never passes silently.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', '$comment']);
const APPLIERS = new Set([
  '$ref',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'items',
  'prefixItems',
  'enum',
  'const',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'uniqueItems',
]);

const isObject = (value: unknown): value is { [key: string]: Json } =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Resolves a local JSON pointer (`#/components/schemas/Thread`) in `root`; undefined when it leads nowhere. */
export const resolvePointer = (root: unknown, ref: string): unknown => {
  if (!ref.startsWith('#')) return undefined;
  const tokens = ref
    .slice(1)
    .split('/')
    .slice(1)
    .map((t) => decodeURIComponent(t).replaceAll('~1', '/').replaceAll('~0', '~'));
  let node: unknown = root;
  for (const token of tokens) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token];
    else return undefined;
  }
  return node;
};

/** Every `$ref` string anywhere in `value`, with where it was found. */
export const collectRefs = (value: unknown, path = '#'): { readonly ref: string; readonly at: string }[] => {
  if (Array.isArray(value)) return value.flatMap((v, i) => collectRefs(v, `${path}/${i}`));
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([key, v]) =>
    key === '$ref' && typeof v === 'string' ? [{ ref: v, at: path }] : collectRefs(v, `${path}/${key}`),
  );
};

const typeOf = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
};

const matchesType = (value: unknown, type: string): boolean => {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
};

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The problems of `value` against `schema` (empty when valid); `$ref`s resolve in `root`. */
export const validate = (schema: unknown, value: unknown, root: unknown, path = '$'): string[] => {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  if (!isObject(schema)) return [`${path}: schema is not an object`];
  const errors: string[] = [];
  const fail = (message: string) => errors.push(`${path}: ${message}`);

  for (const keyword of Object.keys(schema)) {
    if (!ANNOTATIONS.has(keyword) && !APPLIERS.has(keyword)) fail(`unsupported keyword ${keyword}`);
  }
  if (typeof schema.$ref === 'string') {
    const target = resolvePointer(root, schema.$ref);
    if (target === undefined) fail(`unresolvable $ref ${schema.$ref}`);
    else errors.push(...validate(target, value, root, path));
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeof t === 'string' && matchesType(value, t))) fail(`expected ${types.join(' | ')}, got ${typeOf(value)}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => deepEqual(e, value))) fail(`not one of ${JSON.stringify(schema.enum)}`);
  if (schema.const !== undefined && !deepEqual(schema.const, value)) fail(`expected ${JSON.stringify(schema.const)}`);

  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema.minLength === 'number' && length < schema.minLength) fail(`shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) fail(`longer than ${schema.maxLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) fail(`does not match ${schema.pattern}`);
    if (schema.format === 'date-time' && !(DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)))) fail('not a date-time');
    if (schema.format === 'uri' && !URL.canParse(value)) fail('not a uri');
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail(`below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail(`above ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) fail(`not above ${schema.exclusiveMinimum}`);
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) fail(`not below ${schema.exclusiveMaximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail(`fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) fail(`more than ${schema.maxItems} items`);
    if (schema.uniqueItems === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) fail('items not unique');
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    value.forEach((item, i) => {
      const itemSchema = i < prefix.length ? prefix[i] : schema.items;
      if (itemSchema !== undefined) errors.push(...validate(itemSchema, item, root, `${path}[${i}]`));
    });
  }
  if (isObject(value)) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    for (const name of Array.isArray(schema.required) ? schema.required : []) {
      if (typeof name === 'string' && !Object.hasOwn(value, name)) fail(`missing required property ${name}`);
    }
    for (const [name, v] of Object.entries(value)) {
      if (schema.propertyNames !== undefined) errors.push(...validate(schema.propertyNames, name, root, `${path} key ${name}`));
      if (Object.hasOwn(properties, name)) errors.push(...validate(properties[name], v, root, `${path}.${name}`));
      else if (schema.additionalProperties !== undefined) {
        errors.push(...validate(schema.additionalProperties, v, root, `${path}.${name}`));
      }
    }
  }
  if (Array.isArray(schema.allOf)) for (const sub of schema.allOf) errors.push(...validate(sub, value, root, path));
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((sub) => validate(sub, value, root, path).length === 0)) {
    fail('matches none of anyOf');
  }
  if (Array.isArray(schema.oneOf)) {
    const matching = schema.oneOf.filter((sub) => validate(sub, value, root, path).length === 0).length;
    if (matching !== 1) fail(`matches ${matching} of oneOf, not exactly one`);
  }
  if (schema.not !== undefined && validate(schema.not, value, root, path).length === 0) fail('matches `not`');
  return errors;
};
