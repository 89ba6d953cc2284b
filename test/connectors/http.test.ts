import { describe, expect, it } from 'vitest';
import { networkFailure, postJson, tryParseJson } from '../../connectors/http.ts';
import { RetryableProviderError } from '../../domain/provider-errors.ts';

const refused = () =>
  new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });

describe('networkFailure', () => {
  it('is retryable, naming a timeout with its length and a refusal by its system code only', () => {
    const timedOut = networkFailure('Kakao callback', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 10_000);
    expect(timedOut).toBeInstanceOf(RetryableProviderError);
    expect(timedOut.message).toBe('Kakao callback timed out after 10 s');
    expect(networkFailure('LINE /v2/bot/message/push', refused(), 10_000).message).toBe(
      'LINE /v2/bot/message/push request failed: ECONNREFUSED',
    );
    expect(networkFailure('x', 'not an error', 1_000).message).toBe('x request failed: unknown error');
  });
});

describe('tryParseJson', () => {
  it('reads JSON and answers undefined for anything else', () => {
    expect(tryParseJson('{"ok":true}')).toEqual({ ok: true });
    expect(tryParseJson('<html>Bad Gateway</html>')).toBeUndefined();
    expect(tryParseJson('')).toBeUndefined();
  });
});

describe('postJson', () => {
  it('posts the JSON body with its headers and reads the answer, JSON or not', async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      seen.push({ url: String(input), init });
      return new Response(seen.length === 1 ? '{"id":"1"}' : 'Bad Gateway', { status: seen.length === 1 ? 200 : 502 });
    };
    const post = {
      what: 'test',
      url: 'https://api.example/send',
      body: { text: 'é' },
      headers: { authorization: 'Bearer t' },
      timeoutMs: 1_000,
      fetch,
    };
    const first = await postJson(post);
    const second = await postJson(post);
    expect(first.response.status).toBe(200);
    expect(first.json).toEqual({ id: '1' });
    expect(second.response.status).toBe(502);
    expect(second.json).toBeUndefined();
    expect(seen[0]?.url).toBe('https://api.example/send');
    expect(seen[0]?.init).toMatchObject({
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: '{"text":"é"}',
    });
  });

  it('turns a call that got no answer into a retryable failure', async () => {
    const fetch: typeof globalThis.fetch = async () => {
      throw refused();
    };
    const error = await postJson({ what: 'WhatsApp send', url: 'https://x.example', body: {}, timeoutMs: 1_000, fetch }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RetryableProviderError);
    expect(error).toMatchObject({ message: 'WhatsApp send request failed: ECONNREFUSED' });
  });
});
