import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../../adapters/local/local-secrets.ts';
import { AccountResolver } from '../../../domain/accounts.ts';
import { kakaotalkConnector } from '../../../connectors/kakaotalk/index.ts';
import type { KakaoSkillPayload } from '../../../connectors/kakaotalk/kakaotalk.schema.ts';
import {
  buttonsResponse,
  DEFAULT_ACK_TEXT,
  DEFAULT_ACK_TEXT_EN,
  KAKAO_TEXT_CARD_DESCRIPTION_MAX,
  listResponse,
  textResponse,
  UNREADABLE_TEXT,
} from '../../../connectors/kakaotalk/kakaotalk.response.ts';
import type { Button } from '../../../domain/content.ts';
import type { Credentials } from '../../../domain/connector.ts';
import type { ParleyEvent } from '../../../domain/events.ts';
import { ingestWebhook } from '../../../domain/ingest.ts';
import { createLocalLog } from '../../../runtime/local-log.ts';
import { BOT_ID, KAKAO_TEST_CREDENTIALS } from './kakaotalk.kit.ts';

const RECEIVED_AT = '2026-03-14T01:00:00.000Z';
const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/kakaotalk/${name}.json`, import.meta.url));

const payload = (name: string): KakaoSkillPayload => {
  const parsed = kakaotalkConnector.parse(fixture(name));
  if (parsed.kind !== 'ok') throw new Error(name);
  return parsed.payload;
};

/** The skill's answer to a fixture, as respond gives it after normalization. */
const respond = (name: string, credentials: Credentials = KAKAO_TEST_CREDENTIALS) => {
  const p = payload(name);
  const result = kakaotalkConnector.normalize(p, { accountId: BOT_ID, receivedAt: RECEIVED_AT });
  const answer = kakaotalkConnector.respond!(result, p, credentials);
  return { ...answer, json: JSON.parse(answer.body) as unknown };
};

const simpleText = (text: string) => ({ version: '2.0', template: { outputs: [{ simpleText: { text } }] } });

describe('kakaotalk skill response', () => {
  it('acknowledges with a v2.0 simpleText in Korean by default', () => {
    const answer = respond('plain-text');
    expect(answer.statusCode).toBe(200);
    expect(answer.contentType).toMatch(/^application\/json/);
    expect(answer.json).toEqual(simpleText(DEFAULT_ACK_TEXT));
  });

  it('acknowledges in English when the user is not on Korean, and in Korean for the old "kr"', () => {
    expect(respond('non-friend').json).toEqual(simpleText(DEFAULT_ACK_TEXT_EN));
    expect(respond('test-console').json).toEqual(simpleText(DEFAULT_ACK_TEXT));
  });

  it('uses the configured acknowledgement for every user, cut to 1000 characters', () => {
    const configured = { ...KAKAO_TEST_CREDENTIALS, ackText: 'Thanks! 곧 답변드릴게요.' };
    expect(respond('non-friend', configured).json).toEqual(simpleText('Thanks! 곧 답변드릴게요.'));
    const long = respond('plain-text', { ...KAKAO_TEST_CREDENTIALS, ackText: 'a'.repeat(1500) }).json as ReturnType<typeof simpleText>;
    expect(long.template.outputs[0]?.simpleText.text).toHaveLength(1000);
  });

  it('answers useCallback with the acknowledgement as waiting text when the call offers a callback', () => {
    expect(respond('callback').json).toEqual({ version: '2.0', useCallback: true, data: { text: DEFAULT_ACK_TEXT } });
  });

  it('promises nothing for a call that gave no message', () => {
    expect(respond('empty-utterance').json).toEqual(simpleText(UNREADABLE_TEXT));
  });
});

describe('textResponse', () => {
  it('carries up to 10 quick replies with labels cut to 14 characters, the full text sent on tap', () => {
    const replies = Array.from({ length: 10 }, (_, i) => ({ text: `Option number ${i + 1} 🚚`, payload: `opt:${i + 1}` }));
    const response = textResponse('Choose one', replies);
    expect(response.template.outputs).toEqual([{ simpleText: { text: 'Choose one' } }]);
    expect(response.template.quickReplies).toHaveLength(10);
    expect(response.template.quickReplies?.[0]).toEqual({
      label: 'Option number…',
      action: 'message',
      messageText: 'Option number 1 🚚',
      extra: { parleyPayload: 'opt:1' },
    });
    for (const reply of response.template.quickReplies ?? []) expect(reply.label.length).toBeLessThanOrEqual(14);
  });

  it('turns more than 10 quick replies into a numbered list', () => {
    const replies = Array.from({ length: 11 }, (_, i) => ({ text: `Option ${i + 1}`, payload: `opt:${i + 1}` }));
    const response = textResponse('Choose one', replies);
    expect(response.template.quickReplies).toBeUndefined();
    expect(response.template.outputs[0]?.simpleText.text).toContain('\n\n1. Option 1\n');
    expect(response.template.outputs[0]?.simpleText.text).toContain('11. Option 11');
  });

  it('splits text over 1000 characters into at most three outputs, cutting the third', () => {
    const two = textResponse(`${'가'.repeat(999)} ${'나'.repeat(500)}`);
    expect(two.template.outputs.map((o) => o.simpleText.text.length)).toEqual([999, 500]);
    const huge = textResponse('word '.repeat(1000));
    expect(huge.template.outputs).toHaveLength(3);
    for (const output of huge.template.outputs) expect(output.simpleText.text.length).toBeLessThanOrEqual(1000);
    expect(huge.template.outputs[2]?.simpleText.text.endsWith('…')).toBe(true);
  });
});

describe('buttonsResponse', () => {
  const track = { type: 'url', text: '배송 조회', url: 'https://acme.example/t/A-1029' } as const;
  const buttons: Button[] = [
    { type: 'postback', text: '내일 다시 배송', payload: 'resched:A-1029' },
    { type: 'postback', text: '문 앞에 두기', payload: 'door:A-1029' },
    track,
  ];

  it('puts up to three buttons on a text card: message buttons with the payload in extra, links as webLink', () => {
    expect(buttonsResponse('택배가 내일 도착해요.', buttons)).toEqual({
      version: '2.0',
      template: {
        outputs: [
          {
            textCard: {
              description: '택배가 내일 도착해요.',
              buttons: [
                { label: '내일 다시 배송', action: 'message', messageText: '내일 다시 배송', extra: { parleyPayload: 'resched:A-1029' } },
                { label: '문 앞에 두기', action: 'message', messageText: '문 앞에 두기', extra: { parleyPayload: 'door:A-1029' } },
                { label: '배송 조회', action: 'webLink', webLinkUrl: 'https://acme.example/t/A-1029' },
              ],
            },
          },
        ],
      },
    });
  });

  it('sends the start of a longer text as simpleText before the card, in the outputs left', () => {
    const start = `${'가'.repeat(600)}.`;
    const end = `${'나'.repeat(300)} 어떻게 할까요?`;
    const response = buttonsResponse(`${start} ${end}`, buttons);
    expect(response.template.outputs.map((output) => Object.keys(output)[0])).toEqual(['simpleText', 'textCard']);
    expect(response.template.outputs[0]).toEqual({ simpleText: { text: start } });
    expect(response.template.outputs[1]).toMatchObject({ textCard: { description: end } });

    const huge = buttonsResponse('word '.repeat(1000), buttons);
    expect(huge.template.outputs).toHaveLength(3);
    const card = huge.template.outputs[2];
    expect(card && 'textCard' in card && card.textCard.description.length).toBeLessThanOrEqual(KAKAO_TEXT_CARD_DESCRIPTION_MAX);
  });

  it('turns more than three buttons into quick replies, links written out', () => {
    const four: Button[] = [...buttons, { type: 'postback', text: '반품', payload: 'return' }];
    expect(buttonsResponse('어떻게 할까요?', four)).toEqual({
      version: '2.0',
      template: {
        outputs: [{ simpleText: { text: '어떻게 할까요?\n\n배송 조회: https://acme.example/t/A-1029' } }],
        quickReplies: [
          { label: '내일 다시 배송', action: 'message', messageText: '내일 다시 배송', extra: { parleyPayload: 'resched:A-1029' } },
          { label: '문 앞에 두기', action: 'message', messageText: '문 앞에 두기', extra: { parleyPayload: 'door:A-1029' } },
          { label: '반품', action: 'message', messageText: '반품', extra: { parleyPayload: 'return' } },
        ],
      },
    });
  });

  it('degrades a label over 14 characters, and numbers postbacks whose payload is over 1000 bytes', () => {
    const longLabel = buttonsResponse('OK?', [{ type: 'postback', text: 'Leave it at the door', payload: 'door' }]);
    expect(longLabel.template.outputs).toEqual([{ simpleText: { text: 'OK?' } }]);
    expect(longLabel.template.quickReplies).toEqual([
      { label: 'Leave it at t…', action: 'message', messageText: 'Leave it at the door', extra: { parleyPayload: 'door' } },
    ]);
    const longPayload = buttonsResponse('OK?', [{ type: 'postback', text: '네', payload: '가'.repeat(334) }]);
    expect(longPayload.template).toEqual({ outputs: [{ simpleText: { text: 'OK?\n\n1. 네' } }] });
  });
});

describe('listResponse', () => {
  it('offers a list of titles only as quick replies', () => {
    const response = listResponse({
      type: 'list',
      text: '지점을 골라 주세요',
      sections: [
        {
          items: [
            { title: '강남점', payload: 'branch:1' },
            { title: '홍대점', payload: 'branch:2' },
          ],
        },
      ],
    });
    expect(response).toEqual({
      version: '2.0',
      template: {
        outputs: [{ simpleText: { text: '지점을 골라 주세요' } }],
        quickReplies: [
          { label: '강남점', action: 'message', messageText: '강남점', extra: { parleyPayload: 'branch:1' } },
          { label: '홍대점', action: 'message', messageText: '홍대점', extra: { parleyPayload: 'branch:2' } },
        ],
      },
    });
  });

  it('writes a list with descriptions or section titles as a numbered text with a quick reply per number, and one of more than ten items as text alone', () => {
    const described = listResponse({
      type: 'list',
      text: '시간을 골라 주세요',
      sections: [
        { title: '오전', items: [{ title: '9–12시', description: '기사님이 미리 전화드려요', payload: 's1' }] },
        { title: '오후', items: [{ title: '14–18시', payload: 's2' }] },
      ],
    });
    expect(described).toEqual({
      version: '2.0',
      template: {
        outputs: [{ simpleText: { text: '시간을 골라 주세요\n\n오전\n1. 9–12시 – 기사님이 미리 전화드려요\n\n오후\n2. 14–18시' } }],
        // Tapping still hands the skill the item's payload.
        quickReplies: [
          { label: '1. 9–12시', action: 'message', messageText: '1. 9–12시', extra: { parleyPayload: 's1' } },
          { label: '2. 14–18시', action: 'message', messageText: '2. 14–18시', extra: { parleyPayload: 's2' } },
        ],
      },
    });
    const eleven = listResponse({
      type: 'list',
      text: 'Pick',
      sections: [{ items: Array.from({ length: 11 }, (_, i) => ({ title: `No ${i + 1}`, payload: `n${i + 1}` })) }],
    });
    expect(eleven.template.quickReplies).toBeUndefined();
    expect(eleven.template.outputs[0]?.simpleText.text).toContain('\n11. No 11');
  });
});

describe('kakaotalk webhook path', () => {
  const ingest = async (body: Buffer, headers: Record<string, string>, query: Record<string, string> = {}) => {
    const published: ParleyEvent[] = [];
    const answer = await ingestWebhook(
      kakaotalkConnector,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, query, rawBody: body },
      { maxBodyBytes: 256 * 1024 },
      {
        secrets: new LocalSecretStore({ kakaotalk: { credentials: KAKAO_TEST_CREDENTIALS, accountId: BOT_ID } }),
        bus: { publish: async (events) => void published.push(...events) },
        clock: { now: () => new Date(RECEIVED_AT) },
        log: createLocalLog({ level: 'silent' }),
        accounts: new AccountResolver({ fetch: globalThis.fetch, apiBaseUrls: {} }),
      },
    );
    return { answer, published };
  };

  it('answers an accepted call with the skill response and publishes its events', async () => {
    const { answer, published } = await ingest(fixture('callback'), { 'x-parley-skill-secret': KAKAO_TEST_CREDENTIALS['skillSecret']! });
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ version: '2.0', useCallback: true });
    expect(published.map((e) => e.type)).toEqual(['message.received']);
    expect(published[0]).toMatchObject({ replyHandle: { value: expect.stringMatching(/^https:\/\/bot-api\.kakao\.com\//) } });
  });

  it('accepts the secret as a query parameter, and refuses a call without it with 401, publishing nothing', async () => {
    const viaQuery = await ingest(fixture('plain-text'), {}, { secret: KAKAO_TEST_CREDENTIALS['skillSecret']! });
    expect(JSON.parse(viaQuery.answer.body)).toEqual(simpleText(DEFAULT_ACK_TEXT));
    const refused = await ingest(fixture('plain-text'), {});
    expect(refused.answer.statusCode).toBe(401);
    expect(refused.published).toEqual([]);
  });
});
