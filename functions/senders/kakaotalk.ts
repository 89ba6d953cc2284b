/**
 * The kakaotalk sender Lambda: the shared sender function, bound to the kakaotalk accounts and sender alone (not the
 * inbound protocol code, which its bundle does not need).
 */
import { KAKAOTALK_ACCOUNT } from '../../connectors/kakaotalk/kakaotalk.account.ts';
import { kakaotalkSender } from '../../connectors/kakaotalk/kakaotalk.sender.ts';
import { senderFunction } from '../outbound-sender.ts';

export const { create, handler } = senderFunction({ ...KAKAOTALK_ACCOUNT, sender: kakaotalkSender });
