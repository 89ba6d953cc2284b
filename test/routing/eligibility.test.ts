/**
 * Who may take a waiting thread and who should, as pure rules: skills (an agent who lists no skill of a kind
 * serves all of it), capacity, availability, team business hours in the team's own time zone, the customer's
 * previous agent first, least loaded relative to capacity, round robin among equals, and agents to avoid.
 */
import { describe, expect, it } from 'vitest';
import { newThread } from '../../domain/conversations/threads.ts';
import {
  eligibleAgents,
  isOpen,
  meetsSkills,
  needsHuman,
  queueKeyOf,
  requirementsOf,
  selectAgent,
} from '../../domain/routing/eligibility.ts';
import { canonicalSkill, SkillSchema, type Agent, type QueueEntry, type Team } from '../../domain/routing/model.ts';

const AT = '2026-03-02T09:00:00.000Z';

const agent = (id: string, fields: Partial<Agent> = {}): Agent => ({
  id,
  name: id,
  capacity: 4,
  skills: [],
  availability: 'online',
  availabilitySince: AT,
  load: 0,
  assignedTotal: 0,
  createdAt: AT,
  updatedAt: AT,
  ...fields,
});

const entry = (fields: Partial<QueueEntry> = {}): QueueEntry => ({
  key: 'k',
  threadId: 'th_1',
  priority: 'normal',
  waitingSince: AT,
  skills: [],
  ...fields,
});

const none = new Map<string, Team>();
const now = new Date(AT);

describe('skills', () => {
  it('are stored with their kind, in lower case; a bare word is a topic', () => {
    expect(SkillSchema.parse('Billing')).toBe('topic:billing');
    expect(SkillSchema.parse('language:JA')).toBe('language:ja');
    expect(canonicalSkill('channel:line')).toBe('channel:line');
    expect(SkillSchema.parse(' Tier 2 ')).toBe('topic:tier 2');
    expect(SkillSchema.parse('mood:happy')).toBe('topic:mood:happy');
    expect(SkillSchema.safeParse('language:').success).toBe(false);
    expect(SkillSchema.safeParse('bill\ning').success).toBe(false);
  });

  it('an agent serves a kind they list nothing of, and only what they list of a kind they do', () => {
    expect(meetsSkills([], ['language:ja', 'channel:line'])).toBe(true);
    expect(meetsSkills(['language:en'], ['language:ja'])).toBe(false);
    expect(meetsSkills(['language:en', 'language:ja'], ['language:ja', 'channel:line'])).toBe(true);
    expect(meetsSkills(['topic:billing'], ['topic:returns'])).toBe(false);
    expect(meetsSkills(['topic:billing'], ['language:ko'])).toBe(true);
  });
});

describe('a thread', () => {
  const base = { ...newThread('th_1', 'ct_1', AT), lastInboundChannel: 'line' as const };

  it('needs a person while open and not held by automation, unless automation offered it to a human', () => {
    expect(needsHuman(base)).toBe(true);
    expect(needsHuman({ ...base, status: 'pending' })).toBe(false);
    expect(needsHuman({ ...base, control: { holder: 'automation', since: AT } })).toBe(false);
    expect(needsHuman({ ...base, control: { holder: 'automation', offeredTo: 'human', since: AT } })).toBe(true);
    expect(needsHuman({ ...base, mergedInto: 'th_2' })).toBe(false);
  });

  it("needs its channel, its language (attribute, else the contact's locale), its topic, its team and its priority", () => {
    expect(requirementsOf(base, { locale: 'ko-KR' })).toEqual({ skills: ['channel:line', 'language:ko'], priority: 'normal' });
    expect(
      requirementsOf({ ...base, attributes: { language: 'ja', topic: 'Billing', priority: 'urgent' }, team: 'tier2' }, { locale: 'ko' }),
    ).toEqual({
      skills: ['channel:line', 'language:ja', 'topic:billing'],
      team: 'tier2',
      priority: 'urgent',
    });
    expect(requirementsOf({ ...base, attributes: { topic: ' Two Words ' } }).skills).toEqual(['channel:line', 'topic:two words']);
  });
});

describe('eligibility and selection', () => {
  it('takes only online agents with free capacity and the skills', () => {
    const agents = [
      agent('away', { availability: 'away' }),
      agent('full', { load: 4 }),
      agent('english', { skills: ['language:en'] }),
      agent('any'),
      agent('zero', { capacity: 0 }),
    ];
    expect(eligibleAgents(agents, entry({ skills: ['language:ja'] }), none, now).map((a) => a.id)).toEqual(['any']);
  });

  it('prefers the least loaded relative to capacity, then the longest without a thread, then by id', () => {
    const pick = (agents: Agent[]) => selectAgent(eligibleAgents(agents, entry(), none, now), entry())?.id;
    expect(
      pick([agent('a', { load: 2, capacity: 4 }), agent('b', { load: 1, capacity: 1 + 1 }), agent('c', { load: 1, capacity: 3 })]),
    ).toBe('c');
    expect(
      pick([agent('a', { lastAssignedAt: '2026-03-02T08:59:00.000Z' }), agent('b', { lastAssignedAt: '2026-03-02T08:58:00.000Z' })]),
    ).toBe('b');
    expect(pick([agent('b'), agent('a')])).toBe('a');
    expect(pick([agent('a', { lastAssignedAt: AT }), agent('b')])).toBe('b');
  });

  it('gives a returning customer to their previous agent when eligible, even if busier', () => {
    const agents = [agent('a', { load: 3 }), agent('b')];
    expect(selectAgent(eligibleAgents(agents, entry({ preferredAgentId: 'a' }), none, now), { preferredAgentId: 'a' })?.id).toBe('a');
    const full = [agent('a', { load: 4 }), agent('b')];
    expect(selectAgent(eligibleAgents(full, entry({ preferredAgentId: 'a' }), none, now), { preferredAgentId: 'a' })?.id).toBe('b');
  });

  it('avoids an agent who released the thread while anyone else qualifies, even a busy one', () => {
    expect(eligibleAgents([agent('a'), agent('b', { load: 4 })], entry({ avoidAgentIds: ['a'] }), none, now)).toEqual([]);
    expect(
      eligibleAgents(
        [agent('a'), agent('b', { skills: ['language:en'] })],
        entry({ skills: ['language:ja'], avoidAgentIds: ['a'] }),
        none,
        now,
      ).map((a) => a.id),
    ).toEqual(['a']);
  });

  it("takes a team's thread only from its members while the team is open", () => {
    const teams = new Map<string, Team>([
      [
        'tokyo',
        {
          id: 'tokyo',
          name: 'Tokyo',
          members: ['a'],
          businessHours: { timeZone: 'Asia/Tokyo', intervals: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '18:00' }] },
          createdAt: AT,
          updatedAt: AT,
        },
      ],
    ]);
    // 09:00 UTC on Monday 2 March 2026 is 18:00 in Tokyo: just closed.
    expect(eligibleAgents([agent('a'), agent('b')], entry({ team: 'tokyo' }), teams, now)).toEqual([]);
    expect(
      eligibleAgents([agent('a'), agent('b')], entry({ team: 'tokyo' }), teams, new Date('2026-03-02T08:59:00.000Z')).map((a) => a.id),
    ).toEqual(['a']);
    expect(eligibleAgents([agent('a'), agent('b')], entry({ team: 'gone' }), teams, now).map((a) => a.id)).toEqual(['a', 'b']);
  });
});

describe('business hours', () => {
  const hours = { timeZone: 'America/New_York', intervals: [{ days: ['fri' as const], from: '22:00', to: '02:00' }] };

  it('are read in the team time zone, across daylight saving', () => {
    // Friday 6 March 2026, 22:30 in New York (EST, UTC-5) is Saturday 03:30 UTC.
    expect(isOpen(hours, new Date('2026-03-07T03:30:00.000Z'))).toBe(true);
    // After the switch to EDT (UTC-4) on 8 March: Friday 13 March 22:30 is 02:30 UTC.
    expect(isOpen(hours, new Date('2026-03-14T02:30:00.000Z'))).toBe(true);
    expect(isOpen(hours, new Date('2026-03-14T01:30:00.000Z'))).toBe(false);
  });

  it('run past midnight into the next day when `to` is before `from`', () => {
    // Saturday 01:59 in New York (EST) is 06:59 UTC: still Friday night's interval.
    expect(isOpen(hours, new Date('2026-03-07T06:59:00.000Z'))).toBe(true);
    expect(isOpen(hours, new Date('2026-03-07T07:00:00.000Z'))).toBe(false);
    expect(isOpen(undefined, now)).toBe(true);
  });
});

describe('queue order', () => {
  it('is priority first, then the longest waiting', () => {
    const keys = [
      queueKeyOf('normal', '2026-03-02T09:00:00.000Z', 'th_a', 1),
      queueKeyOf('urgent', '2026-03-02T09:30:00.000Z', 'th_b', 1),
      queueKeyOf('normal', '2026-03-02T08:00:00Z', 'th_c', 1),
      queueKeyOf('low', '2026-03-02T07:00:00.000Z', 'th_d', 1),
    ];
    expect([...keys].sort().map((k) => k.split('#')[2])).toEqual(['th_b', 'th_c', 'th_a', 'th_d']);
  });
});
