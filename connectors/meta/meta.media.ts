/**
 * Downloads of media Meta serves from its CDNs: Messenger and Instagram attachments arrive as URLs
 * (fetched without a token, valid for a limited time), and WhatsApp's media endpoint answers with a
 * lookaside URL that needs the access token.
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#download-media
 */
import type { DownloadContext, DownloadedMedia } from '../connector.ts';
import type { MediaRef } from '../../domain/content.ts';
import { getMedia, mediaUrl } from '../media.ts';

/** Domains Meta serves media from: Messenger and WhatsApp from fbcdn and lookaside, Instagram also from its own CDN. */
const META_CDN_DOMAINS = ['fbcdn.net', 'fbsbx.com', 'cdninstagram.com'] as const;

/** The Graph API origins connectors use by default; any other base URL is an override (a fake, a sandbox). */
const META_API_ORIGINS = new Set(['https://graph.facebook.com', 'https://graph.instagram.com']);

/**
 * The hosts a Meta media URL may name: the CDNs' subdomains (`scontent.xx.fbcdn.net`, `lookaside.fbsbx.com`,
 * `cdn.fbsbx.com`, ...) and the Graph API hosts. A URL anywhere else is refused, whatever the webhook says.
 */
export const META_MEDIA_HOSTS: readonly string[] = [
  ...META_CDN_DOMAINS.map((domain) => `*.${domain}`),
  'graph.facebook.com',
  'graph.instagram.com',
];

/**
 * Where to fetch a Meta media URL. A configured API base URL replaces Meta's CDN hosts too, as it replaces
 * the Graph API's (LINE's data API is handled the same way): a media URL is then fetched from
 * `<base>/cdn/<host><path>`, so a local fake or the runtime's sandbox can serve it.
 */
export const metaMediaUrl = (url: string, apiBaseUrl: string): string => {
  const base = apiBaseUrl.replace(/\/+$/, '');
  if (META_API_ORIGINS.has(base)) return url;
  const parsed = new URL(url);
  const host = parsed.hostname;
  if (!META_CDN_DOMAINS.some((domain) => host === domain || host.endsWith(`.${domain}`))) return url;
  return `${base}/cdn/${host}${parsed.pathname}${parsed.search}`;
};

/** Messenger and Instagram: the attachment's URL, fetched as it is (Meta signs it; no token). */
export const downloadMetaAttachment =
  (what: string) =>
  async (media: MediaRef, context: DownloadContext): Promise<DownloadedMedia> =>
    getMedia({
      url: metaMediaUrl(mediaUrl(media.url, what), context.apiBaseUrl),
      fetch: context.fetch,
      network: context.network,
      trustedBase: context.apiBaseUrl,
      hosts: META_MEDIA_HOSTS,
      what,
    });
