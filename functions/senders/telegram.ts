/**
 * The telegram sender Lambda: the shared sender function, bound to the telegram accounts and sender alone (not the
 * inbound protocol code, which its bundle does not need).
 */
import { TELEGRAM_ACCOUNT } from '../../connectors/telegram/telegram.account.ts';
import { telegramSender } from '../../connectors/telegram/telegram.sender.ts';
import { senderFunction } from '../outbound-sender.ts';

export const { create, handler } = senderFunction({ ...TELEGRAM_ACCOUNT, sender: telegramSender });
