/**
 * Downloads a file a customer sent: `getFile` names its path, valid for at least an hour, and the file is
 * then served from `/file/bot<token>/<file_path>`. Bots can download files of at most 20 MB; `getFile`
 * answers larger ones without a path.
 * @see https://core.telegram.org/bots/api#getfile
 */
import * as z from 'zod';
import type { DownloadContext, DownloadedMedia } from '../connector.ts';
import type { MediaRef } from '../../domain/content.ts';
import { AuthenticationError, InvalidRequestError, PermanentProviderError } from '../../domain/provider-errors.ts';
import { tryParseJson } from '../http.ts';
import { getMedia } from '../media.ts';
import { callTelegram, classifyTelegramError } from './telegram.api.ts';

/** Where the Bot API serves files. */
const TELEGRAM_API_HOST = 'api.telegram.org';

/** @see https://core.telegram.org/bots/api#file */
const TelegramFileSchema = z.looseObject({ file_id: z.string(), file_path: z.string().min(1).optional() });

/** Telegram's error envelope, as far as the classification reads it. */
const ErrorEnvelopeSchema = z.looseObject({
  ok: z.boolean(),
  error_code: z.int().optional(),
  description: z.string().optional(),
  parameters: z.looseObject({ retry_after: z.number().nonnegative().optional() }).optional(),
});

export const downloadTelegramFile = async (media: MediaRef, context: DownloadContext): Promise<DownloadedMedia> => {
  if (media.id === undefined) throw new InvalidRequestError('Telegram media without a file_id');
  const token = context.credentials['botToken'];
  if (!token) throw new AuthenticationError('Telegram bot token is not configured');
  const file = TelegramFileSchema.safeParse(await callTelegram('getFile', { file_id: media.id }, context));
  if (!file.success) throw new InvalidRequestError('Telegram getFile answered without a File');
  if (file.data.file_path === undefined) throw new PermanentProviderError('Telegram serves no download of this file (over 20 MB)');
  // The path is Telegram's, e.g. `photos/file_1.jpg`; each segment is encoded so it stays one path.
  const path = file.data.file_path.split('/').map(encodeURIComponent).join('/');
  return getMedia({
    url: `${context.apiBaseUrl.replace(/\/+$/, '')}/file/bot${token}/${path}`,
    fetch: context.fetch,
    network: context.network,
    // Files come from the Bot API's own host; a redirect away from it is checked like any URL.
    trustedBase: context.apiBaseUrl,
    hosts: [TELEGRAM_API_HOST],
    what: 'Telegram file download',
    classify: (status, body) => {
      const parsed = ErrorEnvelopeSchema.safeParse(tryParseJson(body));
      return classifyTelegramError(status, parsed.success ? parsed.data : undefined);
    },
  });
};
