/**
 * The messenger sender Lambda: the shared sender function, bound to the messenger accounts and sender alone (not the
 * inbound protocol code, which its bundle does not need).
 */
import { MESSENGER_ACCOUNT } from '../../connectors/messenger/messenger.account.ts';
import { messengerSender } from '../../connectors/messenger/messenger.sender.ts';
import { senderFunction } from '../outbound-sender.ts';

export const { create, handler } = senderFunction({ ...MESSENGER_ACCOUNT, sender: messengerSender });
