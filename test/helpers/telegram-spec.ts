/**
 * Checks Bot API request bodies against the machine-readable Bot API description
 * (`{methods: {name: {fields}}, types: {name: {fields | subtypes}}}`): every parameter exists, required ones
 * are present, and every value has one of the declared types, objects checked field by field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface SpecField {
  readonly name: string;
  readonly types: readonly string[];
  readonly required: boolean;
  readonly description?: string;
}
interface SpecEntry {
  readonly name: string;
  readonly fields?: readonly SpecField[];
  readonly subtypes?: readonly string[];
}
export interface TelegramApiSpec {
  readonly version: string;
  readonly methods: Readonly<Record<string, SpecEntry>>;
  readonly types: Readonly<Record<string, SpecEntry>>;
}

/** The copy of the Bot API description kept with the tests (test/specs/README.md). */
export const TELEGRAM_SPEC_PATH = fileURLToPath(new URL('../specs/telegram/api.json', import.meta.url));

let cached: TelegramApiSpec | undefined;

/** The Bot API description. Throws (never skips) when it is missing: a silent skip would hide bad bodies. */
export const loadTelegramSpec = (): TelegramApiSpec => {
  if (cached) return cached;
  if (!existsSync(TELEGRAM_SPEC_PATH)) {
    throw new Error(`Telegram Bot API spec not found at ${TELEGRAM_SPEC_PATH}`);
  }
  cached = JSON.parse(readFileSync(TELEGRAM_SPEC_PATH, 'utf8')) as TelegramApiSpec;
  return cached;
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const shown = (value: unknown): string =>
  Array.isArray(value)
    ? 'array'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'object'
        : `${typeof value} ${JSON.stringify(value)}`;

/** Violations of one value against one declared type; empty when it matches. */
const checkType = (spec: TelegramApiSpec, type: string, value: unknown, path: string): string[] => {
  if (type.startsWith('Array of ')) {
    if (!Array.isArray(value)) return [`${path}: expected ${type}, got ${shown(value)}`];
    const element = type.slice('Array of '.length);
    return value.flatMap((item, index) => checkType(spec, element, item, `${path}[${index}]`));
  }
  switch (type) {
    case 'Integer':
      return Number.isSafeInteger(value) ? [] : [`${path}: expected Integer, got ${shown(value)}`];
    case 'Float':
      return typeof value === 'number' && Number.isFinite(value) ? [] : [`${path}: expected Float, got ${shown(value)}`];
    case 'String':
      return typeof value === 'string' ? [] : [`${path}: expected String, got ${shown(value)}`];
    case 'Boolean':
      return typeof value === 'boolean' ? [] : [`${path}: expected Boolean, got ${shown(value)}`];
    case 'True':
      return value === true ? [] : [`${path}: expected True, got ${shown(value)}`];
    case 'InputFile':
      // An upload needs multipart/form-data; a JSON body cannot carry one.
      return [`${path}: InputFile cannot be sent in a JSON body`];
  }
  const entry = spec.types[type];
  if (!entry) return [`${path}: the spec has no type ${type}`];
  if (entry.subtypes) {
    const attempts = entry.subtypes.map((subtype) => checkType(spec, subtype, value, path));
    return attempts.some((violations) => violations.length === 0)
      ? []
      : [`${path}: matches none of ${type}'s subtypes (${entry.subtypes.join(', ')}): ${attempts.flat().join('; ')}`];
  }
  if (!isPlainObject(value)) return [`${path}: expected ${type} object, got ${shown(value)}`];
  return checkFields(spec, type, entry.fields ?? [], value, path);
};

const checkFields = (
  spec: TelegramApiSpec,
  owner: string,
  fields: readonly SpecField[],
  value: Record<string, unknown>,
  path: string,
): string[] => {
  const violations: string[] = [];
  const byName = new Map(fields.map((field) => [field.name, field]));
  for (const [name, fieldValue] of Object.entries(value)) {
    const field = byName.get(name);
    if (!field) {
      violations.push(`${path}.${name}: ${owner} has no field ${name}`);
      continue;
    }
    const attempts = field.types.map((type) => checkType(spec, type, fieldValue, `${path}.${name}`));
    if (!attempts.some((a) => a.length === 0)) {
      violations.push(
        attempts.length === 1
          ? attempts[0]!.join('; ')
          : `${path}.${name}: matches none of ${field.types.join(' | ')} (${attempts.flat().join('; ')})`,
      );
    }
  }
  for (const field of fields) {
    if (field.required && !(field.name in value)) violations.push(`${path}.${field.name}: required by ${owner}, missing`);
  }
  return violations;
};

/** Every way a request body breaks the Bot API description of `method`; empty when it conforms. */
export const telegramRequestViolations = (method: string, body: unknown): string[] => {
  const spec = loadTelegramSpec();
  const entry = spec.methods[method];
  if (!entry) return [`the Bot API has no method ${method}`];
  if (!isPlainObject(body)) return [`${method}: body must be a JSON object, got ${shown(body)}`];
  return checkFields(spec, method, entry.fields ?? [], body, method);
};

/** Throws with every violation when a body does not conform. */
export const assertTelegramRequest = (method: string, body: unknown): void => {
  const violations = telegramRequestViolations(method, body);
  if (violations.length > 0) throw new Error(`invalid ${method} request:\n  ${violations.join('\n  ')}`);
};
