import { ProviderError } from '../../domain/provider-errors.ts';

/** What a provider call throws, to assert on its type and fields; fails the test if it does not throw one. */
export const failureOf = async (promise: Promise<unknown>): Promise<ProviderError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
};
