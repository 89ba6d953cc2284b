/**
 * Agents, teams and the assignment queue: the records routing keeps, as zod schemas (types are inferred from
 * them; the OpenAPI document and the domain events' JSON Schema are generated from them).
 *
 * Messaging lets one agent hold several conversations at once, so an agent has a `capacity` (conversations at
 * once) and a `load` (threads assigned to them and not resolved). Routing respects capacity, not presence:
 * an `online` agent with free capacity can be given a thread; `away` and `offline` agents keep the threads
 * they hold but get no new ones.
 */
import * as z from 'zod';
import { ControlSchema } from '../conversations/model.ts';
import { IsoInstantSchema } from '../shared/time.ts';

/** Ids an integrator chooses for agents and teams: their own user ids or emails fit. */
export const ROUTING_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@+:=~-]{0,127}$/;
export const RoutingIdSchema = z
  .string()
  .regex(ROUTING_ID_PATTERN, 'a letter or digit, then letters, digits, `_ . @ + : = ~ -`, at most 128');

export const AVAILABILITIES = ['online', 'away', 'offline'] as const;
export const AvailabilitySchema = z.enum(AVAILABILITIES).meta({ id: 'Availability' });
export type Availability = z.infer<typeof AvailabilitySchema>;

/** The kinds of skill a thread can need. A skill without a kind is a topic. */
export const SKILL_KINDS = ['language', 'channel', 'topic'] as const;
export type SkillKind = (typeof SKILL_KINDS)[number];

/**
 * A skill as given: `language:ja`, `channel:line`, `topic:billing`, or anything else (a topic: `billing`,
 * `Tier 2`). Stored in its canonical form: with its kind, trimmed, in lower case.
 */
export const SkillSchema = z
  .string()
  .trim()
  .min(1)
  .max(80)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  .refine((skill) => !/[\u0000-\u001f\u007f]/.test(skill), 'no control characters')
  .refine((skill) => !SKILL_KINDS.some((kind) => skill.toLowerCase() === `${kind}:`), 'a kind needs a value, e.g. `language:ja`')
  .transform((skill) => canonicalSkill(skill))
  .describe(
    '`language:<tag>` (e.g. `language:ja`), `channel:<channel>` (e.g. `channel:line`), `topic:<name>`, or any other name (a topic)',
  );

/** `Billing` → `topic:billing`; `language:JA` → `language:ja`. */
export const canonicalSkill = (skill: string): string => {
  const lower = skill.trim().toLowerCase();
  return SKILL_KINDS.some((kind) => lower.startsWith(`${kind}:`)) ? lower : `topic:${lower}`;
};

export const kindOf = (skill: string): SkillKind => skill.slice(0, skill.indexOf(':')) as SkillKind;

export const MAX_CAPACITY = 1000;

export const AgentSchema = z
  .object({
    id: z.string(),
    name: z.string().min(1).max(200),
    capacity: z.int().min(0).max(MAX_CAPACITY).describe('Conversations the agent handles at once'),
    skills: z
      .array(z.string())
      .describe('Canonical skills. An agent with no skill of a kind serves every value of it (no `language:` skill: any language)'),
    availability: AvailabilitySchema,
    availabilitySince: IsoInstantSchema,
    load: z.int().nonnegative().describe('Threads assigned to the agent and not resolved; never more than `capacity`'),
    assignedTotal: z.int().nonnegative().describe('Threads ever assigned to the agent'),
    lastAssignedAt: IsoInstantSchema.optional().describe(
      'When the agent was last given a thread (fairness: the longest without one goes first among equals)',
    ),
    createdAt: IsoInstantSchema,
    updatedAt: IsoInstantSchema,
  })
  .meta({ id: 'Agent' });
export type Agent = z.infer<typeof AgentSchema>;

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const ClockTimeSchema = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM, 00:00 to 24:00');

/** Opening hours in the team's own time zone; an interval whose `to` is before its `from` runs past midnight. */
export const BusinessHoursSchema = z
  .object({
    timeZone: z
      .string()
      .min(1)
      .max(64)
      .refine((zone) => isTimeZone(zone), 'an IANA time zone such as Asia/Tokyo')
      .describe('IANA time zone, e.g. `Asia/Tokyo`'),
    intervals: z
      .array(z.object({ days: z.array(z.enum(WEEKDAYS)).min(1), from: ClockTimeSchema, to: ClockTimeSchema }))
      .max(50)
      .describe('When the team is open, e.g. `{ "days": ["mon","tue","wed","thu","fri"], "from": "09:00", "to": "18:00" }`'),
  })
  .meta({ id: 'BusinessHours' });
export type BusinessHours = z.infer<typeof BusinessHoursSchema>;

const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

export const TeamSchema = z
  .object({
    id: z.string(),
    name: z.string().min(1).max(200),
    members: z.array(z.string()).describe('Agent ids'),
    businessHours: BusinessHoursSchema.optional().describe('Absent: always open'),
    createdAt: IsoInstantSchema,
    updatedAt: IsoInstantSchema,
  })
  .meta({ id: 'Team' });
export type Team = z.infer<typeof TeamSchema>;

export const PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const;
export const PrioritySchema = z.enum(PRIORITIES).meta({ id: 'Priority' });
export type Priority = z.infer<typeof PrioritySchema>;

/** What a waiting thread needs of an agent, and where it stands in the queue. */
export const QueueEntrySchema = z
  .object({
    key: z.string().describe('Its place in the queue: priority, then waiting since, then thread id'),
    threadId: z.string(),
    priority: PrioritySchema,
    waitingSince: IsoInstantSchema,
    skills: z.array(z.string()).describe('Canonical skills the thread needs'),
    team: z.string().optional().describe('Only members of this team, while it is open'),
    preferredAgentId: z.string().optional().describe('The agent who last helped this customer: first choice when eligible'),
    avoidAgentIds: z.array(z.string()).optional().describe('Agents who released it or let it time out: last choice'),
  })
  .meta({ id: 'QueueEntry' });
export type QueueEntry = z.infer<typeof QueueEntrySchema>;

export const ROUTE_STATES = ['idle', 'waiting', 'assigned'] as const;

/**
 * A thread's place in routing: waiting in the queue (with its entry), assigned to an agent (whose load it
 * counts in), or neither. Every change of it is one transaction with the records it must agree with: the
 * queue entry, the agent's load, the thread's assignee and the answer timer.
 */
export const RouteSchema = z
  .object({
    threadId: z.string(),
    state: z.enum(ROUTE_STATES),
    entry: QueueEntrySchema.optional().describe('While waiting'),
    agentId: z.string().optional().describe('While assigned: the agent whose load it counts in'),
    assignedAt: IsoInstantSchema.optional(),
    answerBy: IsoInstantSchema.optional().describe('While assigned: unanswered by then, it goes back to the queue'),
    timerKey: z.string().optional(),
    lastAgentId: z.string().optional().describe('The agent who last held it'),
    requested: z
      .object({ skills: z.array(z.string()).optional(), priority: PrioritySchema.optional() })
      .optional()
      .describe('Skills and priority asked for through the API, kept when the thread is queued again'),
    updatedAt: IsoInstantSchema,
  })
  .meta({ id: 'Route' });
export type Route = z.infer<typeof RouteSchema>;

/** An assignment's answer deadline, listed by time so the sweep finds those that passed. */
export const AnswerTimerSchema = z.object({
  key: z.string(),
  threadId: z.string(),
  agentId: z.string(),
  assignedAt: IsoInstantSchema,
  answerBy: IsoInstantSchema,
});
export type AnswerTimer = z.infer<typeof AnswerTimerSchema>;

export const DEFAULT_ANSWER_TIMEOUT_SECONDS = 600;

export const RoutingSettingsSchema = z
  .object({
    answerTimeoutSeconds: z
      .int()
      .min(10)
      .max(7 * 86_400)
      .nullable()
      .describe(
        `An assigned thread the agent has not answered after this long goes back to the queue; null: never (default ${DEFAULT_ANSWER_TIMEOUT_SECONDS})`,
      ),
    newThreadControl: z
      .enum(['none', 'automation'])
      .describe(
        'Who holds a new thread: nobody (it waits for an agent at once, the default) or automation (a bot answers first and hands over)',
      ),
    automationId: z.string().max(128).optional().describe('The automation that holds new threads, when `newThreadControl` is `automation`'),
  })
  .meta({ id: 'RoutingSettings' });
export type RoutingSettings = z.infer<typeof RoutingSettingsSchema>;

export const DEFAULT_SETTINGS: RoutingSettings = { answerTimeoutSeconds: DEFAULT_ANSWER_TIMEOUT_SECONDS, newThreadControl: 'none' };

/** Why a thread got or lost its agent, as events say. */
export const ASSIGN_REASONS = ['routing', 'affinity', 'manual', 'transfer', 'control'] as const;
export type AssignReason = (typeof ASSIGN_REASONS)[number];
export const UNASSIGN_REASONS = ['released', 'answer_timeout', 'transfer', 'automation', 'requeued', 'agent_removed'] as const;
export type UnassignReason = (typeof UNASSIGN_REASONS)[number];

export const CONTROL_ACTIONS = ['pass', 'offer', 'accept', 'release'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export { ControlSchema };
