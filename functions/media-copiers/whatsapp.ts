/**
 * The whatsapp media copier Lambda: the shared media copier, bound to the whatsapp accounts and media download alone
 * (not the rest of the connector, which its bundle does not need).
 */
import { WHATSAPP_ACCOUNT } from '../../connectors/whatsapp/whatsapp.account.ts';
import { downloadWhatsAppMedia } from '../../connectors/whatsapp/whatsapp.media.ts';
import { mediaCopierFunction } from '../media-copier.ts';

export const { create, handler } = mediaCopierFunction({ ...WHATSAPP_ACCOUNT, downloadMedia: downloadWhatsAppMedia });
