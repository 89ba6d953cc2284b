/**
 * The table every store writes through (adapters/aws/store/table.ts): versioned records written only if the
 * version read still holds, several records all or nothing, each write's domain events kept beside it in `ev`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { checkLimit, decodeCursor, DynamoTable, encodeCursor, KeyCursorSchema, MAX_PAGE_SIZE } from '../../../adapters/aws/store/table.ts';
import { InvalidCursorError } from '../../../domain/errors.ts';
import { tableContract } from './contracts/table.ts';
import { newTable, useLocalEngine } from './harness.ts';

const engine = useLocalEngine();
tableContract('DynamoTable on the local engine', () => newTable(engine()));

describe('DynamoTable', () => {
  it('refuses a document client that would reject records with optional fields left undefined', () => {
    const plain = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    expect(() => new DynamoTable({ client: plain, tableName: 'parley' })).toThrow('removeUndefinedValues');
  });
});

describe('cursors', () => {
  it('decode what they encode, checked by the listing', () => {
    const cursor = encodeCursor({ pk: 'THREAD#a', sk: 'MSG#b' });
    expect(decodeCursor(cursor, KeyCursorSchema)).toEqual({ pk: 'THREAD#a', sk: 'MSG#b' });
    expect(() => decodeCursor(cursor, KeyCursorSchema, (c) => c.pk === 'THREAD#other')).toThrow(InvalidCursorError);
  });

  it.each([
    '',
    'not base64 json',
    Buffer.from('{"pk":').toString('base64url'),
    encodeCursor({ pk: 1 }),
    encodeCursor(['a']),
    encodeCursor(null),
  ])('refuse %j as an InvalidCursorError', (garbage) => {
    expect(() => decodeCursor(garbage, KeyCursorSchema)).toThrow(InvalidCursorError);
  });

  it('pages are 1 to 100 items long', () => {
    expect(() => checkLimit(1)).not.toThrow();
    expect(() => checkLimit(MAX_PAGE_SIZE)).not.toThrow();
    for (const limit of [0, -1, 1.5, MAX_PAGE_SIZE + 1, Number.NaN]) expect(() => checkLimit(limit)).toThrow(RangeError);
  });
});
