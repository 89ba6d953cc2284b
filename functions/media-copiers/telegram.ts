/**
 * The telegram media copier Lambda: the shared media copier, bound to the telegram accounts and media download alone
 * (not the rest of the connector, which its bundle does not need).
 */
import { TELEGRAM_ACCOUNT } from '../../connectors/telegram/telegram.account.ts';
import { downloadTelegramFile } from '../../connectors/telegram/telegram.media.ts';
import { mediaCopierFunction } from '../media-copier.ts';

export const { create, handler } = mediaCopierFunction({ ...TELEGRAM_ACCOUNT, downloadMedia: downloadTelegramFile });
