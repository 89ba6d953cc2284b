/**
 * Errors of the local DynamoDB engine, in DynamoDB's wire shape: an HTTP status and a JSON body whose
 * `__type` names the exception. The SDK reads the name from `__type` (or `x-amzn-ErrorType`) and raises its
 * modelled exception class, with the body's other fields (`Item`, `CancellationReasons`) on it.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
 */
import type { DynaliteError, Item } from './dynalite.ts';

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810#';

/** The JSON body of an error answer. */
export interface DynamoErrorBody {
  readonly __type: string;
  readonly message?: string;
  readonly Message?: string;
  readonly [field: string]: unknown;
}

/** One action's outcome in a cancelled transaction, as `TransactionCanceledException.CancellationReasons` holds it. */
export interface CancellationReason {
  readonly Code: string;
  readonly Message?: string;
  readonly Item?: Item;
}

/** An error answer of the engine; `handle` rejects with it and the transports send it as is. */
export class DynamoError extends Error {
  override readonly name = 'DynamoError';

  constructor(
    readonly statusCode: number,
    readonly body: DynamoErrorBody,
  ) {
    super(`${body.__type.slice(body.__type.indexOf('#') + 1)}: ${body.message ?? body.Message ?? ''}`);
  }

  /** The exception's short name (`ConditionalCheckFailedException`), as the SDK names its class. */
  get code(): string {
    return this.body.__type.slice(this.body.__type.indexOf('#') + 1);
  }
}

export const validationError = (message: string): DynamoError =>
  new DynamoError(400, { __type: 'com.amazon.coral.validate#ValidationException', message });

export const resourceNotFound = (message = 'Requested resource not found'): DynamoError =>
  new DynamoError(400, { __type: `${DYNAMODB}ResourceNotFoundException`, message });

export const unknownOperation = (): DynamoError => new DynamoError(400, { __type: 'com.amazon.coral.service#UnknownOperationException' });

export const serializationError = (message: string): DynamoError =>
  new DynamoError(400, { __type: 'com.amazon.coral.service#SerializationException', Message: message });

export const internalError = (message: string): DynamoError => new DynamoError(500, { __type: `${DYNAMODB}InternalServerError`, message });

/** A failed condition; with `ReturnValuesOnConditionCheckFailure: ALL_OLD`, the item as it was. */
export const conditionalCheckFailed = (item: Item | undefined): DynamoError =>
  new DynamoError(400, {
    __type: `${DYNAMODB}ConditionalCheckFailedException`,
    message: 'The conditional request failed',
    ...(item && { Item: item }),
  });

/**
 * A cancelled transaction: one reason per action, in order. DynamoDB capitalizes `Message` on this exception
 * and lists the codes in it.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 */
export const transactionCanceled = (reasons: readonly CancellationReason[]): DynamoError =>
  new DynamoError(400, {
    __type: `${DYNAMODB}TransactionCanceledException`,
    Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
    CancellationReasons: reasons,
  });

export const idempotentParameterMismatch = (): DynamoError =>
  new DynamoError(400, {
    __type: `${DYNAMODB}IdempotentParameterMismatchException`,
    message: 'The request uses the same client token as a previous, but non-identical request',
  });

export const transactionInProgress = (): DynamoError =>
  new DynamoError(400, {
    __type: `${DYNAMODB}TransactionInProgressException`,
    message: 'The transaction with the given request token is already in progress',
  });

/** dynalite reports errors as `{ statusCode, body }`; anything else is a fault of the engine. */
export const fromDynalite = (error: unknown): DynamoError => {
  if (error instanceof DynamoError) return error;
  const { statusCode, body } = (error ?? {}) as DynaliteError;
  if (statusCode && body) return new DynamoError(statusCode, body);
  return internalError(error instanceof Error ? error.message : String(error));
};
