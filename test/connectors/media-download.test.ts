/**
 * Each connector's media download: the provider calls it makes (paths, tokens), how it classifies the
 * provider's refusals, and that its sandbox answers the same calls with bytes, so the local runtime copies
 * media on development credentials.
 */
import { describe, expect, it } from 'vitest';
import { connectors } from '../../connectors/registry.ts';
import { metaMediaUrl } from '../../connectors/meta/meta.media.ts';
import { MEDIA_REFUSED } from '../../connectors/safe-fetch.ts';
import type { Connector, DownloadContext, MediaNetwork, ResolvedAddress } from '../../domain/connector.ts';
import type { Channel, MediaRef } from '../../domain/content.ts';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../domain/provider-errors.ts';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | null;
  /** For a URL outside the provider's API: the checked addresses the connection was pinned to. */
  readonly pinned?: readonly string[];
}

type Answer = { status: number; body: string | Buffer; contentType?: string; location?: string };

/** What the test's resolver answers for a provider's real media host: a public address (one of Meta's). */
const PUBLIC: ResolvedAddress = { address: '157.240.201.15', family: 4 };

/**
 * A provider that answers from `script` in order, reached through the injected fetch (its API) or the
 * injected network (any other host), with a resolver that answers `dns[host]`, else {@link PUBLIC}.
 */
const scripted = (script: Answer[], dns: Readonly<Record<string, readonly ResolvedAddress[]>> = {}) => {
  const seen: Seen[] = [];
  const answer = (url: string, init: RequestInit | undefined, pinned?: readonly ResolvedAddress[]) => {
    const headers = new Headers(init?.headers);
    seen.push({
      method: init?.method ?? 'GET',
      url,
      authorization: headers.get('authorization'),
      ...(pinned && { pinned: pinned.map((a) => a.address) }),
    });
    const next = script.shift();
    if (!next) throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    return new Response(next.body, {
      status: next.status,
      headers: { 'content-type': next.contentType ?? 'application/json', ...(next.location !== undefined && { location: next.location }) },
    });
  };
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => answer(String(input), init)) as typeof globalThis.fetch;
  const network: MediaNetwork = {
    resolve: async (hostname) => dns[hostname] ?? [PUBLIC],
    get: async (url, init, addresses) => answer(url.href, init, addresses),
  };
  return { fetch, network, seen };
};

const PNG = Buffer.from('89504e470d0a1a0a', 'hex');
const json = (status: number, body: unknown): Answer => ({ status, body: JSON.stringify(body) });
const bytes = (contentType: string, body = PNG): Answer => ({ status: 200, body, contentType });
const redirect = (location: string): Answer => ({ status: 302, body: '', location });

const download = (
  channel: Channel,
  media: MediaRef,
  context: Omit<DownloadContext, 'fetch'>,
  script: Answer[],
  dns?: Readonly<Record<string, readonly ResolvedAddress[]>>,
) => {
  const { fetch, network, seen } = scripted(script, dns);
  const connector = connectors[channel] as Connector;
  if (!connector.downloadMedia) throw new Error(`${channel} has no download`);
  return { result: connector.downloadMedia(media, { network, ...context, fetch }), seen };
};

/** What a refused download is: permanent, said so, and never retried. */
const REFUSED = { kind: 'permanent', code: MEDIA_REFUSED };

describe('Telegram', () => {
  const context = { credentials: { botToken: '7712345678:AAtoken' }, apiBaseUrl: 'https://api.telegram.org' };

  it('asks getFile for the path, then downloads /file/bot<token>/<file_path>', async () => {
    const { result, seen } = download('telegram', { id: 'AgACAgQAAxkB' }, context, [
      json(200, { ok: true, result: { file_id: 'AgACAgQAAxkB', file_unique_id: 'AQAD', file_size: 8, file_path: 'photos/file_7.jpg' } }),
      bytes('image/jpeg'),
    ]);

    expect(await result).toEqual({ bytes: PNG, contentType: 'image/jpeg' });
    expect(seen.map((s) => [s.method, s.url])).toEqual([
      ['POST', 'https://api.telegram.org/bot7712345678:AAtoken/getFile'],
      ['GET', 'https://api.telegram.org/file/bot7712345678:AAtoken/photos/file_7.jpg'],
    ]);
  });

  it('gives up on a file Telegram serves no download for (over 20 MB), and classifies refusals like the sender', async () => {
    const big = download('telegram', { id: 'BQACAgQ' }, context, [
      json(200, { ok: true, result: { file_id: 'BQACAgQ', file_unique_id: 'AQAD' } }),
    ]);
    await expect(big.result).rejects.toBeInstanceOf(PermanentProviderError);

    const limited = download('telegram', { id: 'BQACAgQ' }, context, [
      json(429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 12', parameters: { retry_after: 12 } }),
    ]);
    await expect(limited.result).rejects.toMatchObject({ retryAfterSeconds: 12 });
    await expect(limited.result).rejects.toBeInstanceOf(RateLimitedError);

    const revoked = download('telegram', { id: 'BQACAgQ' }, context, [
      json(401, { ok: false, error_code: 401, description: 'Unauthorized' }),
    ]);
    await expect(revoked.result).rejects.toBeInstanceOf(AuthenticationError);

    const down = download('telegram', { id: 'BQACAgQ' }, context, [
      json(200, { ok: true, result: { file_id: 'x', file_path: 'documents/a.pdf' } }),
    ]);
    await expect(down.result).rejects.toBeInstanceOf(RetryableProviderError); // the download got no answer
  });

  it('never puts the token in an error message', async () => {
    const { result } = download('telegram', { id: 'x' }, context, [
      json(200, { ok: true, result: { file_id: 'x', file_path: 'a.jpg' } }),
      { status: 502, body: '<html>Bad Gateway</html>' },
    ]);
    const error = (await result.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(RetryableProviderError);
    expect(error.message).not.toContain('AAtoken');
  });

  it("follows the file download's redirects only to Telegram's own host", async () => {
    const getFile = json(200, { ok: true, result: { file_id: 'x', file_path: 'photos/file_7.jpg' } });
    const away = download('telegram', { id: 'x' }, context, [getFile, redirect('https://attacker.example/collect'), bytes('image/jpeg')]);
    await expect(away.result).rejects.toMatchObject({ ...REFUSED, message: expect.stringContaining('attacker.example is not a host') });
    expect(away.seen.map((s) => s.url)).toEqual([
      'https://api.telegram.org/bot7712345678:AAtoken/getFile',
      'https://api.telegram.org/file/bot7712345678:AAtoken/photos/file_7.jpg',
    ]);
  });
});

describe('WhatsApp', () => {
  const context = { credentials: { accessToken: 'EAAtoken', phoneNumberId: '106540352242922' }, apiBaseUrl: 'https://graph.facebook.com' };

  it('retrieves the media URL by id for the number, then downloads it with the same token', async () => {
    const { result, seen } = download('whatsapp', { id: '1037543291543636' }, context, [
      json(200, {
        messaging_product: 'whatsapp',
        url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1037543291543636&ext=1',
        mime_type: 'image/jpeg',
        id: '1037543291543636',
      }),
      bytes('image/jpeg'),
    ]);

    expect(await result).toEqual({ bytes: PNG, contentType: 'image/jpeg' });
    expect(seen).toEqual([
      {
        method: 'GET',
        url: 'https://graph.facebook.com/v23.0/1037543291543636?phone_number_id=106540352242922',
        authorization: 'Bearer EAAtoken',
      },
      {
        method: 'GET',
        url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1037543291543636&ext=1',
        authorization: 'Bearer EAAtoken',
        pinned: [PUBLIC.address],
      },
    ]);
  });

  it('fetches the lookaside URL from a configured base URL too', async () => {
    const { result, seen } = download('whatsapp', { id: '1037543291543636' }, { ...context, apiBaseUrl: 'http://127.0.0.1:9000' }, [
      json(200, { url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1', mime_type: 'audio/ogg' }),
      bytes('audio/ogg'),
    ]);
    await result;
    expect(seen[1]?.url).toBe('http://127.0.0.1:9000/cdn/lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1');
  });

  it('treats an expired media id as gone, and an expired token as an authentication failure', async () => {
    const gone = download('whatsapp', { id: '1' }, context, [json(404, { error: { message: 'Unsupported get request', code: 100 } })]);
    await expect(gone.result).rejects.toBeInstanceOf(PermanentProviderError);
    const expired = download('whatsapp', { id: '1' }, context, [
      json(401, { error: { message: 'Error validating access token', code: 190 } }),
    ]);
    await expect(expired.result).rejects.toBeInstanceOf(AuthenticationError);
    const notAnId = download('whatsapp', { url: 'https://example.com/a.jpg' }, context, []);
    await expect(notAnId.result).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("refuses a media URL that leaves Meta's hosts, in the answer or in a redirect, and keeps the token to Meta", async () => {
    const graph = 'https://graph.facebook.com/v23.0/1037543291543636?phone_number_id=106540352242922';
    const lookaside = 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1037543291543636&ext=1';
    const metadata = download('whatsapp', { id: '1037543291543636' }, context, [
      json(200, { url: 'https://169.254.169.254/latest/meta-data/iam/security-credentials/', mime_type: 'image/jpeg' }),
      bytes('image/jpeg'),
    ]);
    await expect(metadata.result).rejects.toMatchObject(REFUSED);
    expect(metadata.seen.map((s) => s.url)).toEqual([graph]);

    const cdn = 'https://scontent.xx.fbcdn.net/v/t61.29466-34/1037543291543636_n.jpg';
    const moved = download('whatsapp', { id: '1037543291543636' }, context, [
      json(200, { url: lookaside }),
      redirect(cdn),
      bytes('image/jpeg'),
    ]);
    expect(await moved.result).toEqual({ bytes: PNG, contentType: 'image/jpeg' });
    // The token goes to the Graph API and to the URL it answered, not to another origin a redirect names.
    expect(moved.seen.map((s) => [s.url, s.authorization])).toEqual([
      [graph, 'Bearer EAAtoken'],
      [lookaside, 'Bearer EAAtoken'],
      [cdn, null],
    ]);

    const away = download('whatsapp', { id: '1037543291543636' }, context, [
      json(200, { url: lookaside }),
      redirect('https://attacker.example/x'),
      bytes('image/jpeg'),
    ]);
    await expect(away.result).rejects.toMatchObject(REFUSED);
    expect(away.seen.map((s) => s.url)).toEqual([graph, lookaside]);
  });
});

describe('LINE', () => {
  const context = { credentials: { channelAccessToken: 'lineToken' }, apiBaseUrl: 'https://api.line.me' };

  it('downloads content LINE holds from the data API, by message id', async () => {
    const { result, seen } = download('line', { id: '325708' }, context, [bytes('image/jpeg')]);
    expect(await result).toEqual({ bytes: PNG, contentType: 'image/jpeg' });
    expect(seen).toEqual([
      { method: 'GET', url: 'https://api-data.line.me/v2/bot/message/325708/content', authorization: 'Bearer lineToken' },
    ]);
  });

  it('uses a configured base URL for the data API, and fetches external content from its own URL without the token', async () => {
    const local = download('line', { id: '325708' }, { ...context, apiBaseUrl: 'http://127.0.0.1:9001/' }, [bytes('video/mp4')]);
    await local.result;
    expect(local.seen[0]?.url).toBe('http://127.0.0.1:9001/v2/bot/message/325708/content');

    const external = download('line', { id: '325709', url: 'https://cdn.example.com/v.mp4' }, context, [bytes('video/mp4')]);
    await external.result;
    expect(external.seen).toEqual([{ method: 'GET', url: 'https://cdn.example.com/v.mp4', authorization: null, pinned: [PUBLIC.address] }]);
  });

  it('fetches external content only over https and from public addresses, at every redirect', async () => {
    const refusedFor = async (url: string, script: Answer[], dns?: Record<string, ResolvedAddress[]>, apiBaseUrl = context.apiBaseUrl) => {
      const { result, seen } = download('line', { id: '325709', url }, { ...context, apiBaseUrl }, script, dns);
      const error = await result.catch((e: unknown) => e);
      expect(error).toMatchObject(REFUSED);
      return { message: (error as Error).message, seen: seen.map((s) => s.url) };
    };

    expect(await refusedFor('http://cdn.example.com/v.mp4', [bytes('video/mp4')])).toEqual({
      message: 'LINE external content refused: not an https URL (http:)',
      seen: [],
    });
    expect(
      await refusedFor('https://media.corp.example/v.mp4', [bytes('video/mp4')], {
        'media.corp.example': [{ address: '10.1.2.3', family: 4 }],
      }),
    ).toEqual({
      message: 'LINE external content refused: media.corp.example resolves to 10.1.2.3, a private address',
      seen: [],
    });
    // 169.254.169.254 written as an IPv4-mapped IPv6 literal.
    expect((await refusedFor('https://[::ffff:a9fe:a9fe]/latest/meta-data/', [bytes('video/mp4')])).message).toContain(
      'the cloud metadata address',
    );
    // Nothing is trusted for content LINE does not hold, not even the configured API's origin.
    expect(
      (await refusedFor('http://127.0.0.1:9001/v2/bot/message/325709/content', [bytes('video/mp4')], {}, 'http://127.0.0.1:9001')).seen,
    ).toEqual([]);

    const hops = await refusedFor('https://cdn.example.com/v.mp4', [
      redirect('https://cdn2.example.com/v.mp4'),
      redirect('https://169.254.169.254/latest/api/token'),
      bytes('video/mp4'),
    ]);
    expect(hops).toEqual({
      message: 'LINE external content refused: 169.254.169.254 is the cloud metadata address',
      seen: ['https://cdn.example.com/v.mp4', 'https://cdn2.example.com/v.mp4'],
    });

    const loop = await refusedFor(
      'https://cdn.example.com/0',
      Array.from({ length: 10 }, (_, i) => redirect(`https://cdn.example.com/${i + 1}`)),
    );
    expect(loop.message).toBe('LINE external content refused: more than 5 redirects');
    expect(loop.seen).toHaveLength(6);
  });

  it('refuses a sticker (nothing to download) without calling LINE', async () => {
    const { result, seen } = download('line', { id: '446/1988' }, context, []);
    await expect(result).rejects.toBeInstanceOf(InvalidRequestError);
    expect(seen).toEqual([]);
  });
});

describe.each(['messenger', 'instagram'] as const)('%s', (channel) => {
  const context = { credentials: { pageAccessToken: 'EAApage' }, apiBaseUrl: connectors[channel].defaultApiBaseUrl };

  it("fetches the attachment's URL as Meta signed it, without a token", async () => {
    const url = 'https://scontent.xx.fbcdn.net/v/t1.15752-9/123_n.jpg?_nc_cat=1&oh=abc';
    const { result, seen } = download(channel, { url }, context, [bytes('image/jpeg')]);
    expect(await result).toEqual({ bytes: PNG, contentType: 'image/jpeg' });
    expect(seen).toEqual([{ method: 'GET', url, authorization: null, pinned: [PUBLIC.address] }]);
  });

  it('treats an expired attachment URL as gone, and refuses a URL that is not https', async () => {
    const expired = download(channel, { url: 'https://scontent.xx.fbcdn.net/v/a.jpg' }, context, [
      { status: 403, body: 'URL signature expired' },
    ]);
    await expect(expired.result).rejects.toBeInstanceOf(PermanentProviderError);
    const file = download(channel, { url: 'file:///etc/passwd' }, context, []);
    await expect(file.result).rejects.toMatchObject(REFUSED);
    const plain = download(channel, { url: 'http://scontent.xx.fbcdn.net/v/a.jpg' }, context, []);
    await expect(plain.result).rejects.toMatchObject({ ...REFUSED, message: expect.stringContaining('not an https URL') });
    expect([...file.seen, ...plain.seen]).toEqual([]);
  });

  it("refuses an attachment URL on a host that is not Meta's, whatever it resolves to", async () => {
    for (const url of [
      'https://attacker.example/a.jpg',
      'https://scontent.xx.fbcdn.net.attacker.example/a.jpg',
      'https://evilfbcdn.net/a.jpg',
      'https://169.254.169.254/latest/meta-data/iam/security-credentials/',
    ]) {
      const { result, seen } = download(channel, { url }, context, [bytes('image/jpeg')]);
      await expect(result).rejects.toMatchObject({
        ...REFUSED,
        message: expect.stringContaining('not a host the provider serves media from'),
      });
      expect(seen).toEqual([]);
    }
  });

  it('refuses a Meta host name that resolves to a private or metadata address, and never connects to it', async () => {
    const url = 'https://scontent.xx.fbcdn.net/v/a.jpg';
    for (const addresses of [
      [{ address: '169.254.169.254', family: 4 }],
      [PUBLIC, { address: '10.0.12.7', family: 4 }],
      [{ address: '::ffff:127.0.0.1', family: 6 }],
      [{ address: 'fd00:ec2::254', family: 6 }],
    ] satisfies ResolvedAddress[][]) {
      const { result, seen } = download(channel, { url }, context, [bytes('image/jpeg')], { 'scontent.xx.fbcdn.net': addresses });
      await expect(result).rejects.toMatchObject({ ...REFUSED, message: expect.stringContaining('scontent.xx.fbcdn.net resolves to') });
      expect(seen).toEqual([]);
    }
  });
});

describe('metaMediaUrl', () => {
  it("sends Meta's CDN hosts to a configured base URL, and leaves other hosts and the real API alone", () => {
    const cdn = 'https://scontent-ams2-1.cdninstagram.com/v/t51/abc.jpg?stp=dst';
    expect(metaMediaUrl(cdn, 'https://graph.facebook.com')).toBe(cdn);
    expect(metaMediaUrl(cdn, 'http://127.0.0.1:3000/sandbox/instagram')).toBe(
      'http://127.0.0.1:3000/sandbox/instagram/cdn/scontent-ams2-1.cdninstagram.com/v/t51/abc.jpg?stp=dst',
    );
    expect(metaMediaUrl('https://evilfbcdn.net/x', 'http://127.0.0.1:3000')).toBe('https://evilfbcdn.net/x');
    expect(metaMediaUrl('https://example.com/x.jpg', 'http://127.0.0.1:3000')).toBe('https://example.com/x.jpg');
  });
});

describe('sandboxes', () => {
  const MEDIA: Partial<Record<Channel, MediaRef>> = {
    telegram: { id: 'AgACAgQAAxkBAAIBfake001x' },
    whatsapp: { id: '1037543291543636' },
    line: { id: '325708' },
    messenger: { url: 'https://scontent.xx.fbcdn.net/v/t1.15752-9/demo_tracking_n.jpg' },
    instagram: { url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1' },
  };

  it('leaves KakaoTalk without a download (Kakao offers none)', () => {
    expect(connectors.kakaotalk.downloadMedia).toBeUndefined();
  });

  it.each(Object.entries(MEDIA) as [Channel, MediaRef][])('%s: the sandbox answers the download with a picture', async (channel, media) => {
    const connector = connectors[channel] as Connector;
    const base = `http://127.0.0.1:3000/sandbox/${channel}`;
    // Routes every request under the sandbox's mount to the sandbox, as the local runtime does.
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      if (!url.startsWith(base)) throw new Error(`not a sandbox URL: ${url}`);
      const answer = connector.sandbox!.handle({
        method: init?.method ?? 'GET',
        path: url.slice(base.length),
        body: Buffer.from(typeof init?.body === 'string' ? init.body : ''),
      });
      const body = Buffer.isBuffer(answer.body) ? answer.body : JSON.stringify(answer.body);
      return new Response(body, { status: answer.statusCode, headers: { 'content-type': answer.contentType ?? 'application/json' } });
    }) as typeof globalThis.fetch;

    const downloaded = await connector.downloadMedia!(media, { credentials: connector.devCredentials(), apiBaseUrl: base, fetch });

    expect(downloaded.contentType).toBe('image/png');
    expect(downloaded.bytes.subarray(0, 8)).toEqual(Buffer.from('89504e470d0a1a0a', 'hex'));
  });
});
