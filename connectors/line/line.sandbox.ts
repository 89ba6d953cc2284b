/**
 * A stand-in for the Messaging API, for the local runtime on development credentials: answers bot info (so
 * the runtime learns which bot the default account is), and push and reply the way LINE documents (`{sentMessages: [{id, quoteToken}]}`), so a reply reaches `sent` with
 * message ids, and answers a repeated retry key with 409 and the first answer, as LINE does. It refuses
 * only what LINE would refuse outright; the tests check request bodies against LINE's OpenAPI document.
 * @see https://developers.line.biz/en/reference/messaging-api/#send-push-message
 * @see https://developers.line.biz/en/docs/messaging-api/retrying-api-request/
 */
import { randomBytes } from 'node:crypto';
import type { ProviderSandbox } from '../connector.ts';
import { sandboxMediaAnswer } from '../sandbox-media.ts';
import { LINE_PUSH_PATH, LINE_REPLY_PATH } from './line.api.ts';
import { LINE_BOT_INFO_PATH } from './line.bot-info.ts';

/** Message ids are decimal strings of 18 digits. */
const FIRST_MESSAGE_ID = 600_000_000_000_000_000n;

/**
 * The sandbox bot's user id: what `GET /v2/bot/info` answers, so the local runtime learns it as the default
 * account's id, and the `destination` the demo's webhook bodies name.
 */
export const LINE_SANDBOX_BOT_USER_ID = 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9';

/** @see https://developers.line.biz/en/reference/messaging-api/#get-bot-info-response */
const SANDBOX_BOT_INFO = {
  userId: LINE_SANDBOX_BOT_USER_ID,
  basicId: '@parley-sandbox',
  displayName: 'Parley sandbox',
  chatMode: 'bot',
  markAsReadMode: 'auto',
} as const;

export const createLineSandbox = (): ProviderSandbox => {
  let nextMessageId = FIRST_MESSAGE_ID;
  const accepted = new Map<string, unknown>();
  const fail = (statusCode: number, message: string, summary: string) => ({ statusCode, body: { message }, summary });
  return {
    handle({
      method,
      path,
      body,
      headers,
    }: {
      method: string;
      path: string;
      body: Buffer;
      headers?: Readonly<Record<string, string | undefined>>;
    }) {
      // The data API's content download (a configured base URL serves both APIs): a small picture.
      if (method === 'GET' && /^\/v2\/bot\/message\/\d+\/content$/.test(path)) return sandboxMediaAnswer('content download');
      if (method === 'GET' && path === LINE_BOT_INFO_PATH)
        return { statusCode: 200, body: SANDBOX_BOT_INFO, summary: `bot info → ${LINE_SANDBOX_BOT_USER_ID}` };
      if (method !== 'POST' || (path !== LINE_PUSH_PATH && path !== LINE_REPLY_PATH)) {
        return fail(404, 'Not found', `${method} ${path} → 404`);
      }
      let request: Record<string, unknown>;
      try {
        request = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return fail(400, 'The request body has 1 error(s)', `${path} → 400 (not JSON)`);
      }
      const messages = request['messages'];
      if (!Array.isArray(messages) || messages.length < 1 || messages.length > 5) {
        return fail(400, 'The request body has 1 error(s)', `${path} → 400 (messages must hold 1 to 5 objects)`);
      }
      const target = path === LINE_PUSH_PATH ? request['to'] : request['replyToken'];
      if (typeof target !== 'string' || target === '') {
        return fail(400, 'The request body has 1 error(s)', `${path} → 400 (no ${path === LINE_PUSH_PATH ? 'to' : 'replyToken'})`);
      }
      const retryKey = headers?.['x-line-retry-key'];
      const earlier = retryKey ? accepted.get(retryKey) : undefined;
      if (earlier !== undefined) {
        return {
          statusCode: 409,
          body: { message: 'The retry key is already accepted', ...(earlier as object) },
          summary: `push retry ${retryKey} → 409`,
        };
      }
      const sentMessages = messages.map(() => ({ id: String(nextMessageId++), quoteToken: randomBytes(24).toString('base64url') }));
      if (retryKey) accepted.set(retryKey, { sentMessages });
      const first = messages[0] as { type?: unknown; text?: unknown; altText?: unknown };
      // A template shows its altText where it cannot be drawn, so the log can too.
      const words = typeof first.text === 'string' ? first.text : first.altText;
      const shown = typeof words === 'string' ? JSON.stringify(words.slice(0, 60)) : String(first.type);
      return {
        statusCode: 200,
        body: { sentMessages },
        summary: `${path === LINE_PUSH_PATH ? `push to ${target}` : 'reply'}: ${shown}${messages.length > 1 ? ` (+${messages.length - 1})` : ''} → ${sentMessages.map((m) => m.id).join(', ')}`,
      };
    },
  };
};
