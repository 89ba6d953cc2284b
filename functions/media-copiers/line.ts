/**
 * The line media copier Lambda: the shared media copier, bound to the line accounts and media download alone
 * (not the rest of the connector, which its bundle does not need).
 */
import { LINE_ACCOUNT } from '../../connectors/line/line.account.ts';
import { downloadLineMedia } from '../../connectors/line/line.media.ts';
import { mediaCopierFunction } from '../media-copier.ts';

export const { create, handler } = mediaCopierFunction({ ...LINE_ACCOUNT, downloadMedia: downloadLineMedia });
