/**
 * The whatsapp sender Lambda: the shared sender function, bound to the whatsapp accounts and sender alone (not the
 * inbound protocol code, which its bundle does not need).
 */
import { WHATSAPP_ACCOUNT } from '../../connectors/whatsapp/whatsapp.account.ts';
import { whatsappSender } from '../../connectors/whatsapp/whatsapp.sender.ts';
import { senderFunction } from '../outbound-sender.ts';

export const { create, handler } = senderFunction({ ...WHATSAPP_ACCOUNT, sender: whatsappSender });
