import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { WebhookRequest } from '../../../connectors/connector.ts';
import { kakaotalkConnector } from '../../../connectors/kakaotalk/index.ts';
import { verifyKakaoSkillRequest } from '../../../connectors/kakaotalk/kakaotalk.verify.ts';
import { BOT_ID, KAKAO_TEST_CREDENTIALS } from './kakaotalk.kit.ts';

const SECRET = KAKAO_TEST_CREDENTIALS['skillSecret']!;
const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/kakaotalk/${name}`, import.meta.url));

const request = (
  rawBody: Buffer,
  headers: Record<string, string | undefined> = { 'x-parley-skill-secret': SECRET },
  query: Record<string, string | undefined> = {},
): WebhookRequest => ({ method: 'POST', headers, query, rawBody });

const withBot = (body: Buffer, botId: unknown): Buffer => {
  const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  json['bot'] = botId === undefined ? undefined : { id: botId, name: 'x' };
  return Buffer.from(JSON.stringify(json), 'utf8');
};

describe('verifyKakaoSkillRequest', () => {
  const body = fixture('plain-text.json');

  it('accepts the secret in the X-Parley-Skill-Secret header', () => {
    expect(verifyKakaoSkillRequest(request(body), KAKAO_TEST_CREDENTIALS)).toBe(true);
  });

  it('accepts the secret in the secret query parameter, where the skill settings cannot set a header', () => {
    expect(verifyKakaoSkillRequest(request(body, {}, { secret: SECRET }), KAKAO_TEST_CREDENTIALS)).toBe(true);
  });

  it('does not let a right query parameter rescue a wrong header', () => {
    expect(verifyKakaoSkillRequest(request(body, { 'x-parley-skill-secret': 'wrong' }, { secret: SECRET }), KAKAO_TEST_CREDENTIALS)).toBe(
      false,
    );
  });

  it('refuses a missing, empty, shorter, longer or differently cased secret', () => {
    for (const given of [undefined, '', SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase()]) {
      expect(verifyKakaoSkillRequest(request(body, { 'x-parley-skill-secret': given }), KAKAO_TEST_CREDENTIALS), String(given)).toBe(false);
      expect(verifyKakaoSkillRequest(request(body, {}, { secret: given }), KAKAO_TEST_CREDENTIALS), String(given)).toBe(false);
    }
  });

  it('refuses everything when no secret is configured, even a request carrying an empty one', () => {
    expect(verifyKakaoSkillRequest(request(body, { 'x-parley-skill-secret': '' }), { botId: BOT_ID })).toBe(false);
    expect(verifyKakaoSkillRequest(request(body, { 'x-parley-skill-secret': '' }), { skillSecret: '' })).toBe(false);
  });

  it("checks bot.id when a bot id is configured: another bot's call, or one without bot id, is refused", () => {
    expect(verifyKakaoSkillRequest(request(withBot(body, 'another-bot')), KAKAO_TEST_CREDENTIALS)).toBe(false);
    expect(verifyKakaoSkillRequest(request(withBot(body, undefined)), KAKAO_TEST_CREDENTIALS)).toBe(false);
    expect(verifyKakaoSkillRequest(request(withBot(body, 12345)), KAKAO_TEST_CREDENTIALS)).toBe(false);
    expect(verifyKakaoSkillRequest(request(withBot(body, 'another-bot')), { skillSecret: SECRET })).toBe(true);
  });

  it('accepts test-console traffic of the same bot, and refuses a placeholder bot id while a bot id is configured', () => {
    const testConsole = fixture('test-console.json');
    expect(verifyKakaoSkillRequest(request(testConsole), KAKAO_TEST_CREDENTIALS)).toBe(true);
    const sample = withBot(testConsole, 'id');
    expect(verifyKakaoSkillRequest(request(sample), KAKAO_TEST_CREDENTIALS)).toBe(false);
    expect(verifyKakaoSkillRequest(request(sample), { skillSecret: SECRET })).toBe(true);
  });

  it('lets a body that is no skill payload through on the secret alone, so that parse answers 400', () => {
    for (const raw of ['not json', '[]', '{"update_id":1}']) {
      expect(verifyKakaoSkillRequest(request(Buffer.from(raw)), KAKAO_TEST_CREDENTIALS), raw).toBe(true);
      expect(kakaotalkConnector.parse(Buffer.from(raw)).kind).toBe('malformed');
    }
  });
});
