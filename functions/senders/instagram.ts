/**
 * The instagram sender Lambda: the shared sender function, bound to the instagram accounts and sender alone (not the
 * inbound protocol code, which its bundle does not need).
 */
import { INSTAGRAM_ACCOUNT } from '../../connectors/instagram/instagram.account.ts';
import { instagramSender } from '../../connectors/instagram/instagram.sender.ts';
import { senderFunction } from '../outbound-sender.ts';

export const { create, handler } = senderFunction({ ...INSTAGRAM_ACCOUNT, sender: instagramSender });
