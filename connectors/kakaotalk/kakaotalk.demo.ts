/**
 * The sample conversation `npm run demo` plays on KakaoTalk: skill calls as Kakao i Open Builder would send
 * them (documented SkillPayload shapes, the shared-secret header), for a customer asking about a late order.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format
 */
import type { ChannelDemo, DemoRequest } from '../demo-types.ts';
import type { Credentials } from '../../domain/ports.ts';
import { KAKAO_SECRET_HEADER } from './kakaotalk.verify.ts';
import { PARLEY_PAYLOAD_KEY } from './kakaotalk.normalize.ts';

const BOT_USER_KEY = '0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b';
const FALLBACK_BOT_ID = '65f1a2b3c4d5e6f708192a3b';
const BLOCK = { id: '65f1a2b3c4d5e6f708192a42', name: '상담 연결' };

const skillCall = (
  credentials: Credentials,
  utterance: string,
  action: { params?: Record<string, string>; detailParams?: Record<string, unknown>; clientExtra?: Record<string, unknown> } = {},
): DemoRequest => ({
  headers: { 'content-type': 'application/json', [KAKAO_SECRET_HEADER]: credentials['skillSecret'] ?? '' },
  body: JSON.stringify({
    bot: { id: credentials['botId'] || FALLBACK_BOT_ID, name: 'ACME 고객센터' },
    intent: { id: BLOCK.id, name: BLOCK.name, extra: { reason: { code: 1, message: 'OK' } } },
    action: {
      id: '65f1a2b3c4d5e6f708192b02',
      name: 'parley_skill',
      params: action.params ?? {},
      detailParams: action.detailParams ?? {},
      clientExtra: action.clientExtra ?? {},
    },
    userRequest: {
      timezone: 'Asia/Seoul',
      params: { surface: 'Kakaotalk.plusfriend' },
      block: BLOCK,
      utterance,
      lang: 'ko',
      user: {
        id: BOT_USER_KEY,
        type: 'botUserKey',
        properties: { botUserKey: BOT_USER_KEY, isFriend: true, plusfriendUserKey: 'Hn4Rw8Jc1VbE' },
      },
    },
    contexts: [],
  }),
});

export const kakaotalkDemo: ChannelDemo = {
  customer: { externalUserId: BOT_USER_KEY, name: 'KakaoTalk user (botUserKey)' },
  opening: (credentials) => [
    skillCall(credentials, '주문 A-1029가 아직 안 왔어요 📦'),
    skillCall(credentials, '3월 20일에 주문했어요', {
      params: { sys_date: '{"dateTag": null, "dateHeadword": null, "month": null, "year": null, "date": "2026-03-20", "day": null}' },
      detailParams: {
        sys_date: {
          origin: '3월 20일',
          value: '{"dateTag": null, "dateHeadword": null, "month": null, "year": null, "date": "2026-03-20", "day": null}',
          groupName: '',
        },
      },
    }),
  ],
  // A skill call carries no id of its own: Parley tells calls apart by when they arrive.
  customerText: (credentials, text) => skillCall(credentials, text),
  afterReply: (credentials, _run, reply) => {
    const tapped = reply.content.type === 'text' ? reply.content.quickReplies?.[0] : undefined;
    if (!tapped) return [];
    return [skillCall(credentials, tapped.text, { clientExtra: { [PARLEY_PAYLOAD_KEY]: tapped.payload } })];
  },
};
