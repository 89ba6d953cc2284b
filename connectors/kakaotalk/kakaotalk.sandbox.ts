/**
 * A stand-in for Kakao's chatbot API, for the local runtime on development credentials: answers the Event API
 * and callback POSTs the way Kakao documents (`{taskId, status: "SUCCESS"}`), so a reply reaches `sent`.
 * It refuses only what Kakao would refuse outright: a wrong path, an Event API body without event name or
 * user, a callback body that is no v2.0 SkillResponse (the sandbox sees no headers, so the key is not checked).
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/main_notions/event-api
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/ai_chatbot_callback_guide
 */
import type { ProviderSandbox } from '../connector.ts';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export const createKakaotalkSandbox = (): ProviderSandbox => {
  let nextTask = 1;
  const fail = (statusCode: number, message: string, summary: string) => ({
    statusCode,
    body: { status: 'FAIL', message },
    summary,
  });
  const succeed = (summary: string) => {
    const taskId = `sandbox-task-${nextTask++}`;
    return { statusCode: 200, body: { taskId, status: 'SUCCESS', timestamp: Date.now() }, summary: `${summary} → ${taskId}` };
  };
  return {
    handle({ method, path, body }) {
      if (method !== 'POST') return fail(405, 'Method Not Allowed', `${method} ${path} → 405`);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8') || 'null');
      } catch {
        return fail(400, 'body is not JSON', `POST ${path} → 400 (not JSON)`);
      }
      const talk = /^\/v2\/bots\/([^/]+)\/talk$/.exec(path);
      if (talk) {
        const event = isRecord(json) ? json['event'] : undefined;
        const users = isRecord(json) ? json['user'] : undefined;
        if (!isRecord(event) || typeof event['name'] !== 'string' || !Array.isArray(users) || users.length === 0) {
          return fail(400, 'event.name and user[] are required', `Event API → 400`);
        }
        const data = isRecord(event['data']) ? event['data'] : {};
        const text = typeof data['text'] === 'string' ? JSON.stringify(data['text'].slice(0, 60)) : '(no text)';
        return succeed(`Event API ${event['name']} to ${users.length} user(s): ${text}`);
      }
      if (/callback/i.test(path)) {
        if (!isRecord(json) || json['version'] !== '2.0' || !isRecord(json['template'])) {
          return fail(400, 'not a v2.0 SkillResponse', `callback → 400`);
        }
        return succeed('callback answer');
      }
      return fail(404, 'Not Found', `POST ${path} → 404`);
    },
  };
};
