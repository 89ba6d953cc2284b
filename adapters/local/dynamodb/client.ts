import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LocalDynamo } from './engine.ts';

/**
 * A DynamoDB client of the local engine: the real SDK and protocol, over HTTP (`endpoint`) or in-process
 * (`requestHandler`). It leaves requests unsigned: the engine has no accounts and checks no signature, and
 * SigV4 (two HMACs and a hash of every body) is about a fifth of the SDK's CPU per request here.
 */
export const localDynamoClient = (
  target: { readonly endpoint: string } | { readonly requestHandler: LocalDynamo['requestHandler'] },
): DynamoDBClient =>
  new DynamoDBClient({
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    signer: { sign: async (request) => request },
    ...('endpoint' in target ? { endpoint: target.endpoint } : { endpoint: 'http://in-process', requestHandler: target.requestHandler }),
  });
