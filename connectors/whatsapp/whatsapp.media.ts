/**
 * Downloads media a customer sent on WhatsApp: `GET /{media-id}` answers a URL valid for 5 minutes, which
 * is then fetched with the same access token. The media id itself lasts 30 days, so a retry asks for a
 * fresh URL each time.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#retrieve-media-url
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#download-media
 */
import * as z from 'zod';
import type { DownloadContext, DownloadedMedia } from '../connector.ts';
import type { MediaRef } from '../../domain/content.ts';
import { AuthenticationError, InvalidRequestError, PermanentProviderError } from '../../domain/provider-errors.ts';
import { networkFailure, tryParseJson } from '../http.ts';
import { getMedia, mediaUrl } from '../media.ts';
import { META_MEDIA_HOSTS, metaMediaUrl } from '../meta/meta.media.ts';
import { classifyWhatsAppError, GRAPH_API_VERSION, WHATSAPP_TIMEOUT_MS, type GraphErrorBody } from './whatsapp.api.ts';

/** `{messaging_product, url, mime_type, sha256, file_size, id}` */
const MediaUrlSchema = z.looseObject({ url: z.string().min(1), mime_type: z.string().optional() });
const GraphErrorSchema = z.looseObject({ error: z.looseObject({}) });

export const downloadWhatsAppMedia = async (media: MediaRef, context: DownloadContext): Promise<DownloadedMedia> => {
  const token = context.credentials['accessToken'];
  if (!token) throw new AuthenticationError('WhatsApp access token is not configured');
  // Numeric in practice; anything that cannot be one path segment is refused.
  if (media.id === undefined || !/^[\w.-]+$/.test(media.id)) throw new InvalidRequestError('not a WhatsApp media id');
  const phoneNumberId = context.credentials['phoneNumberId'];
  // With the number, Meta checks the media belongs to it (the token may serve several numbers).
  const query = phoneNumberId ? `?phone_number_id=${encodeURIComponent(phoneNumberId)}` : '';
  const authorization = { authorization: `Bearer ${token}` };
  let response: Response;
  let text: string;
  try {
    response = await context.fetch(`${context.apiBaseUrl.replace(/\/+$/, '')}/${GRAPH_API_VERSION}/${media.id}${query}`, {
      headers: authorization,
      signal: AbortSignal.timeout(WHATSAPP_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    throw networkFailure('WhatsApp media URL', error, WHATSAPP_TIMEOUT_MS);
  }
  const body = tryParseJson(text);
  if (!response.ok) {
    const parsed = GraphErrorSchema.safeParse(body);
    // An unknown or expired media id is answered 400/404 with code 100: it will not come back.
    if (response.status === 404) throw new PermanentProviderError('WhatsApp media not found (expired or deleted)', '404');
    throw classifyWhatsAppError(
      response.status,
      parsed.success ? (parsed.data as GraphErrorBody) : undefined,
      response.headers.get('retry-after'),
    );
  }
  const found = MediaUrlSchema.safeParse(body);
  if (!found.success) throw new InvalidRequestError('WhatsApp media answer without a url');
  const downloaded = await getMedia({
    url: metaMediaUrl(mediaUrl(found.data.url, 'WhatsApp media'), context.apiBaseUrl),
    fetch: context.fetch,
    network: context.network,
    trustedBase: context.apiBaseUrl,
    hosts: META_MEDIA_HOSTS,
    headers: authorization,
    what: 'WhatsApp media download',
  });
  const contentType = downloaded.contentType ?? found.data.mime_type;
  return { bytes: downloaded.bytes, ...(contentType !== undefined && { contentType }) };
};
