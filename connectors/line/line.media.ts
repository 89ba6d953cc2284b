/**
 * Downloads what a customer sent on LINE, for the media copier: content LINE holds from its data API by
 * message id, content another server holds (`contentProvider.type: external`) from its URL. Stickers have
 * no content to download (their id is Parley's `<packageId>/<stickerId>`), so they are refused as invalid.
 * @see https://developers.line.biz/en/reference/messaging-api/#get-content
 */
import type { DownloadContext, DownloadedMedia } from '../connector.ts';
import type { MediaRef } from '../../domain/content.ts';
import { InvalidRequestError } from '../../domain/provider-errors.ts';
import { getMedia } from '../media.ts';
import { downloadLineContent, LINE_DATA_API_BASE_URL } from './line.api.ts';

const LINE_API_ORIGIN = 'https://api.line.me';

export const downloadLineMedia = async (media: MediaRef, context: DownloadContext): Promise<DownloadedMedia> => {
  if (media.url !== undefined) {
    // Any https server a customer's app names: no host list, and nothing trusted, so the address checks
    // apply to every hop (even one on the configured API base).
    return getMedia({ url: media.url, fetch: context.fetch, network: context.network, what: 'LINE external content' });
  }
  if (media.id === undefined) throw new InvalidRequestError('LINE media without a message id');
  const base = context.apiBaseUrl.replace(/\/+$/, '');
  // A configured base URL replaces the data API's host too (see LINE_DATA_API_BASE_URL).
  const content = await downloadLineContent(media.id, {
    ...context,
    dataApiBaseUrl: base === LINE_API_ORIGIN ? LINE_DATA_API_BASE_URL : base,
  });
  return { bytes: content.bytes, ...(content.contentType !== undefined && { contentType: content.contentType }) };
};
