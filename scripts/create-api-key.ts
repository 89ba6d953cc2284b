/**
 * Creates an integrator API key in a deployed Parley: stores only its SHA-256 hash in the table and prints
 * the secret once. Uses the AWS credentials and region of the environment.
 *
 *   TABLE_NAME=<ParleyData table output> npx tsx scripts/create-api-key.ts "name of the integration"
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient, DynamoThreadStore } from '../adapters/aws/dynamo-thread-store.ts';
import { apiKeyRecord, generateApiKey } from '../api/auth.ts';

const tableName = process.env.TABLE_NAME;
const name = process.argv[2];
if (!tableName || !name) {
  process.stderr.write('usage: TABLE_NAME=<table> npx tsx scripts/create-api-key.ts "<key name>"\n');
  process.exit(2);
}
const store = new DynamoThreadStore({
  client: createDocumentClient(new DynamoDBClient({})),
  tableName,
});
const key = generateApiKey();
await store.putApiKey(apiKeyRecord(key.secret, name, new Date().toISOString()));
process.stdout.write(`API key ${key.id} (${name}) created. Its secret, shown only now:\n${key.secret}\n`);
