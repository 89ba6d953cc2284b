/**
 * The messenger media copier Lambda: the shared media copier, bound to the messenger accounts and media download alone
 * (not the rest of the connector, which its bundle does not need).
 */
import { MESSENGER_ACCOUNT } from '../../connectors/messenger/messenger.account.ts';
import { downloadMessengerMedia } from '../../connectors/messenger/messenger.media.ts';
import { mediaCopierFunction } from '../media-copier.ts';

export const { create, handler } = mediaCopierFunction({ ...MESSENGER_ACCOUNT, downloadMedia: downloadMessengerMedia });
