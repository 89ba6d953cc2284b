/**
 * A stand-in for the Bot API, for the local runtime on development credentials: answers each method the
 * sender uses the way Telegram documents (`{ok, result}`), so a reply reaches `sent` with a message id.
 * It checks only what Telegram would refuse outright (unknown method, missing chat_id); the tests check
 * request bodies against the Bot API's published method definitions.
 * @see https://core.telegram.org/bots/api#making-requests
 */
import type { ProviderSandbox } from '../connector.ts';
import { sandboxMediaAnswer } from '../sandbox-media.ts';

const SEND_METHODS = new Set([
  'sendMessage',
  'sendPhoto',
  'sendDocument',
  'sendAudio',
  'sendVideo',
  'sendSticker',
  'sendLocation',
  'sendVenue',
]);

export const createTelegramSandbox = (): ProviderSandbox => {
  // Ids from the clock, so they grow across restarts and stay clear of the small ids customers' sample
  // updates use (a real chat numbers both directions from one counter).
  let nextMessageId = Math.floor(Date.now() / 1000) * 10;
  const fail = (code: number, description: string, summary: string) => ({
    statusCode: code,
    body: { ok: false, error_code: code, description },
    summary,
  });
  return {
    handle({ method: httpMethod, path, body }) {
      // Downloads of the files getFile named: every file is the same small picture.
      if (httpMethod === 'GET' && /^\/file\/bot[^/]+\/.+$/.test(path)) return sandboxMediaAnswer('file download');
      const match = /^\/bot[^/]+\/(\w+)$/.exec(path);
      if (httpMethod !== 'POST' || !match?.[1])
        return fail(404, 'Not Found', `${httpMethod} ${path.replace(/\/bot[^/]+/, '/bot***')} → 404`);
      const method = match[1];
      let params: Record<string, unknown>;
      try {
        params = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return fail(400, "Bad Request: can't parse JSON", `${method} → 400 (not JSON)`);
      }
      if (method === 'answerCallbackQuery') {
        return { statusCode: 200, body: { ok: true, result: true }, summary: `answerCallbackQuery ${String(params.callback_query_id)}` };
      }
      if (method === 'getFile') {
        if (typeof params.file_id !== 'string' || params.file_id === '') return fail(400, 'Bad Request: file_id is empty', 'getFile → 400');
        const file_path = `sandbox/${params.file_id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64)}.png`;
        return {
          statusCode: 200,
          body: { ok: true, result: { file_id: params.file_id, file_size: 68, file_path } },
          summary: `getFile → ${file_path}`,
        };
      }
      if (!SEND_METHODS.has(method)) return fail(404, 'Not Found: method not found', `${method} → 404`);
      if (params.chat_id === undefined) return fail(400, 'Bad Request: chat_id is empty', `${method} → 400 (no chat_id)`);
      const message_id = nextMessageId++;
      const shown = typeof params.text === 'string' ? JSON.stringify(params.text.slice(0, 60)) : method.replace('send', '').toLowerCase();
      return {
        statusCode: 200,
        body: {
          ok: true,
          result: {
            message_id,
            date: Math.floor(Date.now() / 1000),
            chat: { id: params.chat_id, type: 'private' },
            ...(typeof params.text === 'string' && { text: params.text }),
          },
        },
        summary: `${method} to chat ${String(params.chat_id)}: ${shown} → message ${message_id}`,
      };
    },
  };
};
