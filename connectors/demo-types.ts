/** What a channel's demo conversation is made of (`npm run demo`, the sample webhook command). */
import type { Credentials } from '../domain/ports.ts';
import type { Message } from '../domain/model.ts';

export interface DemoRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ChannelDemo {
  /** The customer, as the channel identifies them (for `GET /v1/threads?channel=&externalUserId=`). */
  readonly customer: { readonly externalUserId: string; readonly name: string };
  /** The customer's first messages. `run` varies per demo run so provider ids do not repeat. */
  opening(credentials: Credentials, run: number): DemoRequest[];
  /** What the customer does once the agent's reply (with quick replies) was sent. */
  afterReply(credentials: Credentials, run: number, reply: Message): DemoRequest[];
  /**
   * One text message from the same customer, for `npm run webhook`. `id`, an integer from 10^9 to 2^31 - 1
   * that differs per call, makes the provider's ids, so Parley does not take the message for a redelivery.
   */
  customerText(credentials: Credentials, text: string, id: number): DemoRequest;
}
