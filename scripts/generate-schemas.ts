/**
 * Writes the JSON Schema of the normalized event format (docs/schemas/parley-event.v1.json) from its zod
 * schemas. `npm run schema` after changing domain/events.ts or domain/content.ts; a test fails while the
 * committed file differs from what the schemas generate.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { ParleyEventSchema } from '../domain/events.ts';

export const EVENT_SCHEMA_PATH = fileURLToPath(new URL('../docs/schemas/parley-event.v1.json', import.meta.url));

export const eventJsonSchema = (): string =>
  `${JSON.stringify(
    {
      ...z.toJSONSchema(ParleyEventSchema, { target: 'draft-2020-12', io: 'output' }),
      $id: 'https://github.com/parley/parley/docs/schemas/parley-event.v1.json',
    },
    null,
    2,
  )}\n`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(EVENT_SCHEMA_PATH, eventJsonSchema());
  process.stdout.write(`wrote ${EVENT_SCHEMA_PATH}\n`);
}
