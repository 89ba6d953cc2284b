/**
 * Parley's local DynamoDB engine (see engine.ts and docs/decisions/local-dynamodb.md).
 */
export { createLocalDynamo, type LocalDynamo, type LocalDynamoOptions } from './engine.ts';
export { DynamoError, type CancellationReason, type DynamoErrorBody } from './errors.ts';
export { TTL_IDENTITY, type StreamConsumer, type StreamFailure, type StreamRetry, type StreamSubscription } from './streams.ts';
export { localDynamoClient } from './client.ts';
