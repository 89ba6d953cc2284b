/**
 * A stand-in for the Messenger or Instagram Send API, for the local runtime on development credentials:
 * answers `POST /<version>/<account or me>/messages` the way the Send API documents
 * (`{recipient_id, message_id}`), so a reply reaches `sent` with a message id. It refuses what Graph
 * would refuse outright (another path, no recipient, a message with neither text nor attachment, a
 * `MESSAGE_TAG` without its tag, a button template without text or with other than 1 to 3 buttons) with
 * Graph's error body.
 * @see https://developers.facebook.com/docs/messenger-platform/reference/send-api#response
 * @see https://developers.facebook.com/docs/graph-api/guides/error-handling
 * @see https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/template/button
 */
import type { ProviderSandbox } from '../connector.ts';
import { sandboxMediaAnswer } from '../sandbox-media.ts';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What is wrong with a message Graph would refuse, beyond having neither text nor attachment. */
const refusalOf = (params: Record<string, unknown>, attachment: unknown): string | undefined => {
  if (params['messaging_type'] === 'MESSAGE_TAG' && typeof params['tag'] !== 'string') return '(#100) Tag is required for MESSAGE_TAG';
  const payload = isRecord(attachment) && attachment['type'] === 'template' ? attachment['payload'] : undefined;
  if (!isRecord(payload) || payload['template_type'] !== 'button') return undefined;
  const buttons = payload['buttons'];
  if (typeof payload['text'] !== 'string' || payload['text'] === '') return '(#100) param text must be non-empty';
  if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 3) return '(#100) param buttons must have 1 to 3 elements';
  return undefined;
};

/** How a sent message shows in the runtime's log: its text, or its attachment's kind. */
const shownOf = (message: Record<string, unknown>): string => {
  if (typeof message['text'] === 'string') return JSON.stringify(message['text'].slice(0, 60));
  const attachment = isRecord(message['attachment']) ? message['attachment'] : {};
  const payload = isRecord(attachment['payload']) ? attachment['payload'] : {};
  return typeof payload['template_type'] === 'string' ? `${payload['template_type']} template` : 'attachment';
};

export const createMetaMessagingSandbox = (name: string, midPrefix: string): ProviderSandbox => {
  let next = 1;
  const fail = (statusCode: number, code: number, message: string, summary: string) => ({
    statusCode,
    body: { error: { message, type: 'OAuthException', code, fbtrace_id: 'sandbox' } },
    summary,
  });
  return {
    handle({ method, path, body }) {
      // Attachment downloads from Meta's CDN, which a configured base URL redirects here (meta.media.ts).
      if (method === 'GET' && path.startsWith('/cdn/')) return sandboxMediaAnswer(`${name} attachment download`);
      if (method !== 'POST' || !/^\/v\d+\.\d+\/[^/]+\/messages$/.test(path)) {
        return fail(400, 100, 'Unsupported request', `${method} ${path} → 400`);
      }
      let params: unknown;
      try {
        params = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return fail(400, 100, 'Invalid JSON', `${name} send → 400 (not JSON)`);
      }
      const recipient = isRecord(params) && isRecord(params['recipient']) ? params['recipient']['id'] : undefined;
      const message = isRecord(params) ? params['message'] : undefined;
      if (typeof recipient !== 'string' || recipient === '') {
        return fail(400, 100, '(#100) The parameter recipient is required', `${name} send → 400 (no recipient)`);
      }
      if (!isRecord(message) || (typeof message['text'] !== 'string' && !isRecord(message['attachment']))) {
        return fail(400, 100, '(#100) Param message must be a text or an attachment', `${name} send → 400 (no message)`);
      }
      const refusal = refusalOf(params as Record<string, unknown>, message['attachment']);
      if (refusal !== undefined) return fail(400, 100, refusal, `${name} send → 400 (${refusal})`);
      const mid = `${midPrefix}${String(next++).padStart(6, '0')}`;
      return {
        statusCode: 200,
        body: { recipient_id: recipient, message_id: mid },
        summary: `${name} send to ${recipient}: ${shownOf(message)} → ${mid}`,
      };
    },
  };
};
