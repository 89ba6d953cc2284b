/**
 * The line sender Lambda: the shared sender function, bound to the line accounts and sender alone (not the
 * inbound protocol code, which its bundle does not need).
 */
import { LINE_ACCOUNT } from '../../connectors/line/line.account.ts';
import { lineSender } from '../../connectors/line/line.sender.ts';
import { senderFunction } from '../outbound-sender.ts';

export const { create, handler } = senderFunction({ ...LINE_ACCOUNT, sender: lineSender });
