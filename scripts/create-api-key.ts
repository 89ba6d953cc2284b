/**
 * Creates the first integrator API key of a deployed Parley (an `admin` key: it can make the others through
 * `POST /v1/keys`): stores only its SHA-256 hash in the table and prints the secret once. Uses the AWS
 * credentials and region of the environment.
 *
 *   TABLE_NAME=<ParleyData table output> npx tsx scripts/create-api-key.ts "name of the integration" [scope ...]
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoApiKeyStore } from '../adapters/aws/store/access.ts';
import { createDocumentClient, DynamoTable } from '../adapters/aws/store/table.ts';
import { ScopeSchema } from '../domain/access/model.ts';
import { apiKeyRecord, generateApiKey } from '../api/auth.ts';

const tableName = process.env.TABLE_NAME;
const [name, ...scopeArgs] = process.argv.slice(2);
const scopes = scopeArgs.length > 0 ? scopeArgs.map((s) => ScopeSchema.safeParse(s)) : [ScopeSchema.safeParse('admin')];
if (!tableName || !name || scopes.some((s) => !s.success)) {
  process.stderr.write('usage: TABLE_NAME=<table> npx tsx scripts/create-api-key.ts "<key name>" [read|write|admin ...]\n');
  process.exit(2);
}
const keys = new DynamoApiKeyStore(new DynamoTable({ client: createDocumentClient(new DynamoDBClient({})), tableName }));
const key = generateApiKey();
const record = apiKeyRecord(
  key.secret,
  name,
  new Date().toISOString(),
  scopes.map((s) => ScopeSchema.parse(s.data)),
);
await keys.create(record);
process.stdout.write(
  `API key ${key.id} (${name}, scopes: ${record.scopes.join(', ')}) created. Its secret, shown only now:\n${key.secret}\n`,
);
