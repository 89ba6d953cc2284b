/**
 * A stand-in for the Cloud API's messages endpoint, for the local runtime on development credentials: it
 * answers `POST /{version}/{phone-number-id}/messages` the way the Graph API does, so a reply reaches
 * `sent` with a wamid. It refuses only what the Graph API refuses outright (another path, a body that is
 * not JSON, no `to`); the tests check bodies against the published OpenAPI document.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 */
import { randomBytes } from 'node:crypto';
import type { ProviderSandbox } from '../connector.ts';
import { sandboxMediaAnswer } from '../sandbox-media.ts';

const graphError = (statusCode: number, code: number, message: string, summary: string) => ({
  statusCode,
  body: { error: { message, type: 'OAuthException', code, fbtrace_id: 'sandbox' } },
  summary,
});

export const createWhatsAppSandbox = (): ProviderSandbox => ({
  handle({ method, path, body }) {
    // Media downloads: the media endpoint names a lookaside URL, which the connector fetches from the
    // sandbox too (`/cdn/<host>/…`, see connectors/meta/meta.media.ts).
    const mediaId = method === 'GET' ? /^\/v\d+\.\d+\/(\d+)$/.exec(path.split('?')[0] ?? '')?.[1] : undefined;
    if (mediaId !== undefined) {
      return {
        statusCode: 200,
        body: {
          messaging_product: 'whatsapp',
          url: `https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=${mediaId}`,
          mime_type: 'image/png',
          file_size: 68,
          id: mediaId,
        },
        summary: `media ${mediaId} → url`,
      };
    }
    if (method === 'GET' && path.startsWith('/cdn/')) return sandboxMediaAnswer('media download');
    const match = /^\/v\d+\.\d+\/(\d+)\/messages$/.exec(path);
    if (method !== 'POST' || !match) {
      return graphError(400, 100, 'Unsupported request - method type or path', `${method} ${path} → 400`);
    }
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return graphError(400, 100, 'Invalid parameter', 'messages → 400 (not JSON)');
    }
    // Marking a message read answers {success: true}.
    if (params['status'] === 'read')
      return { statusCode: 200, body: { success: true }, summary: `mark read ${String(params['message_id'])}` };
    const to = params['to'];
    if (params['messaging_product'] !== 'whatsapp' || typeof to !== 'string' || to === '') {
      return graphError(400, 100, '(#100) Invalid parameter', 'messages → 400 (no messaging_product or to)');
    }
    const id = `wamid.${randomBytes(24).toString('base64url')}`;
    const type = typeof params['type'] === 'string' ? params['type'] : 'text';
    const text = params['text'] as { body?: unknown } | undefined;
    const shown = type === 'text' && typeof text?.body === 'string' ? JSON.stringify(text.body.slice(0, 60)) : type;
    return {
      statusCode: 200,
      body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to.replace(/^\+/, '') }], messages: [{ id }] },
      summary: `${type} from ${match[1] ?? '?'} to ${to}: ${shown} → ${id.slice(0, 18)}…`,
    };
  },
});
