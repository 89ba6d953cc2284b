/**
 * Who may take a waiting thread, and who should: pure functions over agents, teams and queue entries.
 *
 * Eligible: online, with free capacity, with the skills the thread needs (an agent who lists no skill of a
 * kind serves every value of that kind), and a member of the thread's team while the team is open. Among the
 * eligible, the agent who last helped the customer comes first; then the least loaded relative to capacity;
 * ties go to whoever has waited longest since their last assignment (round robin among equals), then by id.
 */
import type { Contact, Thread } from '../conversations/model.ts';
import { millis } from '../shared/time.ts';
import {
  canonicalSkill,
  kindOf,
  PRIORITIES,
  WEEKDAYS,
  type Agent,
  type BusinessHours,
  type Priority,
  type QueueEntry,
  type Team,
  type Weekday,
} from './model.ts';

/** A thread that should wait for a person: open, not merged away, and not held by automation (unless it offered the thread to a human). */
export const needsHuman = (thread: Thread): boolean =>
  thread.mergedInto === undefined &&
  thread.status === 'open' &&
  (thread.control.holder !== 'automation' || thread.control.offeredTo === 'human');

/** A thread that keeps counting in its agent's load: not resolved, not merged away, not taken over by automation. */
export const holdsCapacity = (thread: Thread): boolean =>
  thread.mergedInto === undefined && thread.status !== 'resolved' && thread.control.holder !== 'automation';

/** What a thread needs, read from the thread (and its contact): channel, language, topic, team, priority. */
export interface Requirements {
  readonly skills: readonly string[];
  readonly team?: string;
  readonly priority: Priority;
}

const textAttribute = (thread: Thread, name: string): string | undefined => {
  const value = thread.attributes[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
};

/** A value as a skill of `kind` (`topic`, `Billing` → `topic:billing`); none for an empty value. */
const skillOf = (kind: string, value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed ? canonicalSkill(`${kind}:${trimmed}`) : undefined;
};

/**
 * The channel the customer wrote on last; the language of the thread's `language` attribute, else the
 * contact's locale (its primary subtag: `ko-KR` → `ko`); the topic of its `topic` attribute; its team; its
 * `priority` attribute (`urgent`, `high`, `normal`, `low`; normal by default). Explicit skills given when the
 * thread was queued through the API are added.
 */
export const requirementsOf = (
  thread: Thread,
  contact?: Pick<Contact, 'locale'>,
  extra: { readonly skills?: readonly string[]; readonly priority?: Priority } = {},
): Requirements => {
  const language = (textAttribute(thread, 'language') ?? contact?.locale)?.split(/[-_]/)[0];
  const channel = thread.lastInboundChannel ?? thread.routes[0]?.channel;
  const skills = [
    skillOf('channel', channel),
    skillOf('language', language),
    skillOf('topic', textAttribute(thread, 'topic')),
    ...(extra.skills ?? []),
  ].filter((s): s is string => s !== undefined);
  const attributePriority = textAttribute(thread, 'priority')?.toLowerCase();
  const priority =
    extra.priority ?? ((PRIORITIES as readonly string[]).includes(attributePriority ?? '') ? (attributePriority as Priority) : 'normal');
  return { skills: [...new Set(skills)].sort(), ...(thread.team ? { team: thread.team } : {}), priority };
};

/** True when the agent serves every skill needed: one they list, or a kind they list nothing of. */
export const meetsSkills = (agentSkills: readonly string[], needed: readonly string[]): boolean => {
  const kinds = new Set(agentSkills.map(kindOf));
  return needed.every((skill) => !kinds.has(kindOf(skill)) || agentSkills.includes(skill));
};

const WEEKDAY_OF: Readonly<Record<string, Weekday>> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};
const minutesOf = (clock: string): number => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/** The weekday and minute of the day at `now` in a time zone. */
export const localTime = (now: Date, timeZone: string): { readonly day: Weekday; readonly minute: number } => {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = WEEKDAY_OF[part('weekday')];
  if (day === undefined) throw new RangeError(`no weekday for ${now.toISOString()} in ${timeZone}`);
  return { day, minute: Number(part('hour')) * 60 + Number(part('minute')) };
};

/** Whether business hours are open at `now`; absent hours are always open. */
export const isOpen = (hours: BusinessHours | undefined, now: Date): boolean => {
  if (hours === undefined) return true;
  const { day, minute } = localTime(now, hours.timeZone);
  const yesterday = WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7] as Weekday;
  return hours.intervals.some(({ days, from, to }) => {
    const start = minutesOf(from);
    const end = minutesOf(to);
    if (start < end) return days.includes(day) && minute >= start && minute < end;
    // Past midnight: the evening of one of its days, or the early hours of the day after.
    return (days.includes(day) && minute >= start) || (days.includes(yesterday) && minute < end);
  });
};

/** Online with room for one more thread. */
export const hasFreeCapacity = (agent: Agent): boolean => agent.availability === 'online' && agent.load < agent.capacity;

/** Whether the agent may serve the entry's skills and team, whatever their load. */
export const qualifies = (
  agent: Agent,
  entry: Pick<QueueEntry, 'skills' | 'team'>,
  teams: ReadonlyMap<string, Team>,
  now: Date,
): boolean => {
  if (!meetsSkills(agent.skills, entry.skills)) return false;
  if (entry.team === undefined) return true;
  const team = teams.get(entry.team);
  // A team deleted since the thread was queued no longer narrows who may take it.
  if (team === undefined) return true;
  return team.members.includes(agent.id) && isOpen(team.businessHours, now);
};

/**
 * The agents who may take the entry now. An agent it should avoid (who released it, or let it time out) is
 * eligible only when no other online agent qualifies at all, busy or not: otherwise it waits for them.
 */
export const eligibleAgents = <A extends Agent>(
  agents: readonly A[],
  entry: QueueEntry,
  teams: ReadonlyMap<string, Team>,
  now: Date,
): A[] => {
  const qualified = agents.filter((agent) => agent.availability === 'online' && qualifies(agent, entry, teams, now));
  const avoid = new Set(entry.avoidAgentIds ?? []);
  const others = qualified.filter((agent) => !avoid.has(agent.id));
  return (others.length > 0 ? others : qualified).filter(hasFreeCapacity);
};

/** Negative when `a` should be chosen before `b`: the less loaded relative to capacity, then the longer without a thread, then by id. */
export const compareAgents = (a: Agent, b: Agent): number => {
  // load/capacity compared without division (capacity 0 never has free capacity, so is never compared).
  const byLoad = a.load * b.capacity - b.load * a.capacity;
  if (byLoad !== 0) return byLoad;
  const aLast = a.lastAssignedAt === undefined ? Number.NEGATIVE_INFINITY : millis(a.lastAssignedAt);
  const bLast = b.lastAssignedAt === undefined ? Number.NEGATIVE_INFINITY : millis(b.lastAssignedAt);
  if (aLast !== bLast) return aLast < bLast ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};

/** The agent to give the entry to, among eligible ones: the customer's previous agent, else the best by {@link compareAgents}. */
export const selectAgent = <A extends Agent>(candidates: readonly A[], entry: Pick<QueueEntry, 'preferredAgentId'>): A | undefined => {
  const preferred = entry.preferredAgentId === undefined ? undefined : candidates.find((a) => a.id === entry.preferredAgentId);
  return preferred ?? [...candidates].sort(compareAgents)[0];
};

/** Queue order: priority, then longest waiting, then thread id. Sorts as a string. */
export const queueKeyOf = (priority: Priority, waitingSince: string, threadId: string, serial: number): string =>
  `${PRIORITIES.indexOf(priority)}#${new Date(millis(waitingSince)).toISOString()}#${threadId.replaceAll('%', '%25').replaceAll('#', '%23')}#${serial.toString(36).padStart(6, '0')}`;
