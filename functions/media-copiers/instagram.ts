/**
 * The instagram media copier Lambda: the shared media copier, bound to the instagram accounts and media download alone
 * (not the rest of the connector, which its bundle does not need).
 */
import { INSTAGRAM_ACCOUNT } from '../../connectors/instagram/instagram.account.ts';
import { downloadInstagramMedia } from '../../connectors/instagram/instagram.media.ts';
import { mediaCopierFunction } from '../media-copier.ts';

export const { create, handler } = mediaCopierFunction({ ...INSTAGRAM_ACCOUNT, downloadMedia: downloadInstagramMedia });
