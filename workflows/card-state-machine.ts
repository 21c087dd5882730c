/**
 * The card state machine: states, actions, guards and roles. Pure and dependency-free, so that the
 * card workflow runs it, and the API and the UI import it to show which actions a card allows.
 * Nothing here reads a clock or does I/O: callers pass the time in.
 */
import { z } from 'zod';
import { freeText, instantSchema, venueIdSchema } from './text-rules.js';

/** Issuance routes. */
export const ROUTES = ['pickup', 'counter', 'outreach', 'express', 'other'] as const;
export type Route = (typeof ROUTES)[number];

export const ROUTE_LABELS: Record<Route, string> = {
  pickup: '交付時来庁方式',
  counter: '申請時来庁方式',
  outreach: '出張申請方式',
  express: '特急発行',
  other: 'その他',
};

/** Routes whose cards the ward mails itself after setting the PINs. */
export const WARD_MAILED_ROUTES: readonly Route[] = ['counter', 'outreach', 'other'];

export const STATES = [
  'received',
  'inspected',
  'shipped_to_venue',
  'at_venue',
  'notice_mailed',
  'notice_returned',
  'reserved',
  'no_show',
  'documents_missing',
  'issued',
  'on_hold',
  'removed',
  'renotice_approved',
  'renoticed',
  'expired',
  'discarded',
  'handed_to_ward',
  'mailed_by_ward',
  'mailed_by_jlis',
  'delivered',
] as const;
export type CardStateName = (typeof STATES)[number];

export const STATE_LABELS: Record<CardStateName, string> = {
  received: '受領',
  inspected: '検品・初期設定済',
  shipped_to_venue: '会場へ移送中',
  at_venue: '会場保管中',
  notice_mailed: '交付通知書発送済',
  notice_returned: '交付通知書返戻',
  reserved: '予約済',
  no_show: '予約不来',
  documents_missing: '書類不備',
  issued: '交付済',
  on_hold: '保留（引き抜き）',
  removed: '住民登録消除',
  renotice_approved: '再通知決定',
  renoticed: '再通知発送済',
  expired: '有効期限切れ（区へ引渡し）',
  discarded: '廃棄',
  handed_to_ward: '区へ引渡し済',
  mailed_by_ward: '区が本人限定受取郵便で発送済',
  mailed_by_jlis: 'J-LISが発送済',
  delivered: '受取済',
};

/** States in which a card's story is over: no action applies any more. */
export const TERMINAL_STATES: readonly CardStateName[] = ['issued', 'discarded', 'delivered'];

/** Every state in which the card's story goes on. */
const OPEN_STATES: readonly CardStateName[] = STATES.filter((s) => !TERMINAL_STATES.includes(s));

/** States of a pickup card that is at its venue waiting for the resident (R-6.1 "uncollected"). */
const AWAITING_RESIDENT: readonly CardStateName[] = [
  'notice_mailed',
  'notice_returned',
  'no_show',
  'documents_missing',
  'renotice_approved',
  'renoticed',
];

/** States from which a resident may book or be served at the counter. */
const BOOKABLE: readonly CardStateName[] = ['at_venue', ...AWAITING_RESIDENT];

/** States before the notice is mailed: the receipt → notice SLA runs over these. */
export const PRE_NOTICE_STATES: readonly CardStateName[] = ['received', 'inspected', 'shipped_to_venue', 'at_venue'];

/** Labels of the events that are not actions. */
export const SYSTEM_EVENT_LABELS = {
  registered: '受領登録',
  proposal_opened: '提案',
  proposal_withdrawn: '提案の取り下げ',
  sla_late: '通知書発送の期限超過',
  migrated: '前事業者からの移行',
} as const;

export const STAFF_ROLES = ['ward', 'office', 'callcenter', 'venue', 'auditor', 'admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];
/** Who can act on a card: staff roles that may change things, the resident, and the system's timers. */
export type ActorRole = Exclude<StaffRole, 'auditor' | 'admin'> | 'resident' | 'system';
export type Channel = 'api' | 'web' | 'resident-web' | 'phone' | 'fax' | 'counter' | 'timer' | 'cli' | 'migration';

export const PROPOSAL_KINDS = ['renotice', 'discard', 'expiry', 'no_show'] as const;
export type ProposalKind = (typeof PROPOSAL_KINDS)[number];

export const PROPOSAL_LABELS: Record<ProposalKind, string> = {
  renotice: '再通知の提案',
  discard: '廃棄の提案',
  expiry: '有効期限切れ（区へ引渡し）の提案',
  no_show: '予約不来の提案',
};

export interface Proposal {
  kind: ProposalKind;
  /** Epoch ms at which it was opened. */
  openedAt: number;
  /** Why the system (or a user) proposed it. */
  reason: string;
}

export interface Booking {
  bookingNumber: string;
  venueId: string;
  /** ISO instants. */
  startsAt: string;
  endsAt: string;
}

/** Everything the machine needs to know about one card. Times are epoch milliseconds. */
export interface CardSnapshot {
  cardId: string;
  route: Route;
  state: CardStateName;
  /** Sequence number of the card's last event; the first event (registration) is 1. */
  seq: number;
  /** Venue that holds (or will hold) the card. */
  venueId?: string;
  hasPhone: boolean;
  /** Last day of validity (ISO date, Asia/Tokyo), e.g. the residence period end for foreign residents. */
  expiresOn?: string;
  receivedAt: number;
  noticeMailedAt?: number;
  renoticedAt?: number;
  issuedAt?: number;
  closedAt?: number;
  /** Set by the receipt → notice timer while the notice is overdue. */
  late: boolean;
  /** The state to return to when a hold or a booking ends. */
  heldFrom?: CardStateName;
  bookedFrom?: CardStateName;
  booking?: Booking;
  proposals: Proposal[];
  /** Proposal kinds the ward rejected: the timers do not propose them again. */
  rejected: ProposalKind[];
}

export const ACTIONS = [
  'inspect',
  'ship_to_venue',
  'receive_at_venue',
  'mail_notice',
  'record_return',
  'record_reissue_request',
  'reserve',
  'cancel_reservation',
  'issue',
  'mark_documents_missing',
  'confirm_no_show',
  'pull_out',
  'release_hold',
  'mark_removed',
  'approve_renotice',
  'mail_renotice',
  'propose_discard',
  'approve_discard',
  'approve_expiry',
  'reject_proposal',
  'hand_to_ward',
  'record_ward_mailing',
  'record_jlis_mailing',
  'record_delivery',
] as const;
export type CardAction = (typeof ACTIONS)[number];

export interface ActionDefinition {
  action: CardAction;
  label: string;
  /** States the action starts from; `open` means every state that is not terminal. */
  from: readonly CardStateName[] | 'open';
  routes: readonly Route[];
  roles: readonly ActorRole[];
  reasonRequired: boolean;
  /** Cannot be undone: the UI asks for confirmation. */
  irreversible: boolean;
  /** An open proposal of this kind must exist (the ward approves what a timer proposed). */
  proposal?: ProposalKind;
  /** What the action records beside the state change. */
  records: string;
  /** The action's `data` (zod, strict): the API refuses anything else with 400, the workflow checks it again. */
  data: z.ZodType<Record<string, unknown> | undefined>;
  /**
   * What the API takes where it differs from what the workflow checks (`reserve`: the slot key
   * `{ venueId, startsAt }`; the edge resolves the slot and sends the workflow `data`).
   */
  edgeData?: z.ZodType<Record<string, unknown> | undefined>;
}

/** The longest reason an action records. */
export const MAX_REASON = 2000;
/** A reason as stored in the card's events: bounded, lines allowed, no control or format characters. */
export const reasonSchema = freeText(MAX_REASON);

type DataSchema = ActionDefinition['data'];
/**
 * A schema built on first use, then kept. The worker evaluates this module again for every new card
 * workflow (the SDK's reusable V8 context keeps module state per workflow), and most workflows
 * never check an action's data: built at load, these schemas cost every registration.
 */
function lazy<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

/** Actions that take no data: an empty object, or none. */
const NO_DATA = lazy((): DataSchema => z.object({}).strict().optional());
const VENUE_DATA = lazy((): DataSchema => z.object({ venueId: venueIdSchema.optional() }).strict().optional());
const SLOT_DATA = lazy((): DataSchema => z.object({ startsAt: instantSchema, endsAt: instantSchema, venueId: venueIdSchema.optional() }).strict());
/** A slot as the API names it: the venue and the slot's start (the edge resolves its end). */
const SLOT_KEY_DATA = lazy((): DataSchema => z.object({ venueId: venueIdSchema, startsAt: instantSchema }).strict());
const KIND_DATA = lazy((): DataSchema => z.object({ kind: z.enum(PROPOSAL_KINDS) }).strict());

const ALL_ROUTES = ROUTES;
/** An action's definition; `data` and `edgeData` are read through getters that build the schema on first use. */
const def = ({
  data = NO_DATA,
  edgeData,
  ...d
}: Omit<ActionDefinition, 'irreversible' | 'reasonRequired' | 'data' | 'edgeData'> &
  Partial<Pick<ActionDefinition, 'irreversible' | 'reasonRequired'>> & { data?: () => DataSchema; edgeData?: () => DataSchema }): ActionDefinition => {
  const definition = { reasonRequired: false, irreversible: false, ...d } as ActionDefinition;
  Object.defineProperty(definition, 'data', { get: data, enumerable: true });
  if (edgeData) Object.defineProperty(definition, 'edgeData', { get: edgeData, enumerable: true });
  return definition;
};

export const ACTION_DEFINITIONS: Record<CardAction, ActionDefinition> = {
  inspect: def({
    action: 'inspect',
    label: '検品・初期設定',
    from: ['received'],
    routes: ['pickup', ...WARD_MAILED_ROUTES],
    roles: ['office'],
    records: 'inspection time',
  }),
  ship_to_venue: def({
    action: 'ship_to_venue',
    label: '会場へ移送',
    from: ['inspected'],
    routes: ['pickup'],
    roles: ['office'],
    records: 'destination venue (defaults to the venue allocated to the address)',
    data: VENUE_DATA,
  }),
  receive_at_venue: def({
    action: 'receive_at_venue',
    label: '会場で受理',
    from: ['shipped_to_venue'],
    routes: ['pickup'],
    roles: ['venue', 'office'],
    records: 'receipt at the venue',
  }),
  mail_notice: def({
    action: 'mail_notice',
    label: '交付通知書を発送',
    // Again from notice_mailed / notice_returned: a reissued notice (a lost one, R-4.4) or a returned
    // one mailed to the address the office corrected; the reason says which.
    from: ['at_venue', 'notice_mailed', 'notice_returned'],
    routes: ['pickup'],
    roles: ['office'],
    records: 'notice mailing time; clears the SLA late flag',
  }),
  record_return: def({
    action: 'record_return',
    label: '返戻を記録',
    from: ['notice_mailed', 'renoticed'],
    routes: ['pickup'],
    roles: ['office'],
    reasonRequired: true,
    records: 'the return slip reason (R-2.6)',
  }),
  record_reissue_request: def({
    action: 'record_reissue_request',
    label: '再発行依頼を記録',
    from: ['notice_mailed', 'notice_returned', 'renoticed', 'no_show'],
    routes: ['pickup'],
    roles: ['callcenter', 'ward'],
    reasonRequired: true,
    records: 'a lost or undelivered notice reported by the resident, for the ward (R-4.4)',
  }),
  reserve: def({
    action: 'reserve',
    label: '予約',
    // From `reserved` it is a change: another slot, at the same or another venue.
    from: [...BOOKABLE, 'reserved'],
    routes: ['pickup'],
    roles: ['callcenter', 'venue', 'ward', 'resident'],
    records: 'the booked slot and the card\'s booking number (a change: the slot it replaces)',
    data: SLOT_DATA,
    edgeData: SLOT_KEY_DATA,
  }),
  cancel_reservation: def({
    action: 'cancel_reservation',
    label: '予約を取消',
    from: ['reserved'],
    routes: ['pickup'],
    roles: ['callcenter', 'venue', 'ward', 'resident'],
    records: 'the cancelled booking; the card returns to the state it was booked from',
  }),
  issue: def({
    action: 'issue',
    label: '交付',
    from: ['reserved', ...AWAITING_RESIDENT],
    routes: ['pickup'],
    roles: ['venue'],
    irreversible: true,
    records: 'issuance time (walk-ins without a booking are served too, R-1.1)',
  }),
  mark_documents_missing: def({
    action: 'mark_documents_missing',
    label: '書類不備',
    from: ['reserved', ...AWAITING_RESIDENT.filter((s) => s !== 'documents_missing')],
    routes: ['pickup'],
    roles: ['venue'],
    reasonRequired: true,
    records: 'the missing documents; no no-show callback is made for this card (R-4.6)',
  }),
  confirm_no_show: def({
    action: 'confirm_no_show',
    label: '予約不来を確定',
    from: ['reserved'],
    routes: ['pickup'],
    roles: ['venue', 'callcenter', 'ward'],
    proposal: 'no_show',
    records: 'the missed booking; a callback is due if the resident gave a phone number (R-4.6)',
  }),
  pull_out: def({
    action: 'pull_out',
    label: '引き抜き（保留）',
    from: OPEN_STATES.filter((s) => s !== 'on_hold'),
    routes: ALL_ROUTES,
    roles: ['ward', 'office'],
    reasonRequired: true,
    records: 'the ward instruction; the state to return to (R-3.6, R-7.6)',
  }),
  release_hold: def({
    action: 'release_hold',
    label: '保留を解除',
    from: ['on_hold'],
    routes: ALL_ROUTES,
    roles: ['ward', 'office'],
    records: 'the card returns to the state it was pulled out of',
  }),
  mark_removed: def({
    action: 'mark_removed',
    label: '住民登録消除',
    from: OPEN_STATES.filter((s) => s !== 'removed'),
    routes: ALL_ROUTES,
    roles: ['ward'],
    reasonRequired: true,
    records: 'moved out or died; a discard proposal opens at once (R-6.2)',
  }),
  approve_renotice: def({
    action: 'approve_renotice',
    label: '再通知を承認',
    from: AWAITING_RESIDENT.filter((s) => s !== 'renotice_approved' && s !== 'renoticed'),
    routes: ['pickup'],
    roles: ['ward'],
    proposal: 'renotice',
    records: 'the ward decision to mail a re-notice (R-6.1)',
  }),
  mail_renotice: def({
    action: 'mail_renotice',
    label: '再通知を発送',
    from: ['renotice_approved'],
    routes: ['pickup'],
    roles: ['office'],
    records: 're-notice mailing time (R-6.3)',
  }),
  propose_discard: def({
    action: 'propose_discard',
    label: '廃棄を提案',
    from: 'open',
    routes: ALL_ROUTES,
    // The system: a re-notice batch leaving out an expired card; the ward approves.
    roles: ['ward', 'system'],
    reasonRequired: true,
    records: 'a discard proposal opened by hand',
  }),
  approve_discard: def({
    action: 'approve_discard',
    label: '廃棄を承認',
    from: 'open',
    routes: ALL_ROUTES,
    roles: ['ward'],
    proposal: 'discard',
    irreversible: true,
    records: 'the ward decision: the card is pulled and discarded (R-6.2, R-6.4)',
  }),
  approve_expiry: def({
    action: 'approve_expiry',
    label: '有効期限切れとして区へ引渡し',
    from: 'open',
    routes: ALL_ROUTES,
    roles: ['ward'],
    proposal: 'expiry',
    records: 'the expired card is handed back to the ward; a discard proposal opens at once (R-3.7, R-6.2)',
  }),
  reject_proposal: def({
    action: 'reject_proposal',
    label: '提案を却下',
    from: 'open',
    routes: ALL_ROUTES,
    roles: ['ward'],
    reasonRequired: true,
    records: 'the rejected proposal kind; the timers do not propose it again',
    data: KIND_DATA,
  }),
  hand_to_ward: def({
    action: 'hand_to_ward',
    label: '区へ引渡し（暗証番号設定・郵送用）',
    from: ['inspected'],
    routes: WARD_MAILED_ROUTES,
    roles: ['office'],
    records: 'the card (and its pulled-out notice) handed to the ward (R-1.2, R-3.2)',
  }),
  record_ward_mailing: def({
    action: 'record_ward_mailing',
    label: '区の発送を記録',
    from: ['handed_to_ward'],
    routes: WARD_MAILED_ROUTES,
    roles: ['ward', 'office'],
    records: 'mailing by 本人限定受取郵便 (R-1.2)',
  }),
  record_jlis_mailing: def({
    action: 'record_jlis_mailing',
    label: 'J-LISの発送を記録',
    from: ['received'],
    routes: ['express'],
    roles: ['ward', 'office'],
    records: 'mailing by J-LIS (R-1.3)',
  }),
  record_delivery: def({
    action: 'record_delivery',
    label: '受取を記録',
    from: ['mailed_by_ward', 'mailed_by_jlis'],
    routes: ['counter', 'outreach', 'other', 'express'],
    roles: ['ward', 'office'],
    irreversible: true,
    records: 'delivery to the resident',
  }),
};

export interface ActionInput {
  action: CardAction;
  role: ActorRole;
  reason?: string;
  data?: Record<string, unknown>;
}

export type RejectionCode = 'ILLEGAL_TRANSITION' | 'ROLE_NOT_ALLOWED' | 'REASON_REQUIRED' | 'INVALID_DATA';

export interface Rejection {
  code: RejectionCode;
  message: string;
}

export function isTerminal(state: CardStateName): boolean {
  return TERMINAL_STATES.includes(state);
}

function startsFrom(d: ActionDefinition, state: CardStateName): boolean {
  return d.from === 'open' ? !isTerminal(state) : d.from.includes(state);
}

function hasProposal(card: CardSnapshot, kind: ProposalKind): boolean {
  return card.proposals.some((p) => p.kind === kind);
}

/** Where a zod issue points, as the API names fields: `data.startsAt`. */
function issueText(prefix: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${prefix}${path}: ${issue.message}`;
}

/** Checks the action's own data; returns a message naming the bad field, or undefined. */
function checkData(card: CardSnapshot, input: ActionInput, now: number): string | undefined {
  const d = ACTION_DEFINITIONS[input.action];
  const parsed = d.data.safeParse(input.data);
  if (!parsed.success) return issueText('data', parsed.error);
  if (input.reason !== undefined) {
    const reason = reasonSchema.safeParse(input.reason);
    if (!reason.success) return issueText('reason', reason.error);
  }
  const data = input.data ?? {};
  switch (input.action) {
    case 'reserve': {
      // Another venue than the card's is allowed: the card moves there (the API opens a transfer task).
      const { startsAt, endsAt } = data as { startsAt: string; endsAt: string; venueId?: string };
      const start = Date.parse(startsAt);
      const end = Date.parse(endsAt);
      if (!(end > start)) return 'data.endsAt must be after data.startsAt';
      if (end <= now) return 'data.endsAt is in the past';
      return undefined;
    }
    case 'ship_to_venue': {
      const venueId = data.venueId ?? card.venueId;
      if (typeof venueId !== 'string' || venueId.length === 0) return 'data.venueId is required: no venue is allocated to this address';
      return undefined;
    }
    case 'reject_proposal': {
      const kind = data.kind as ProposalKind;
      if (!hasProposal(card, kind)) return `the card has no open ${kind} proposal`;
      return undefined;
    }
    case 'propose_discard':
      return hasProposal(card, 'discard') ? 'a discard proposal is already open' : undefined;
    default:
      return undefined;
  }
}

/**
 * Whether `input` may be applied to `card` now: undefined if so, else why not.
 * Checks, in order: the state and route, the role, the open proposal, the reason, the data.
 */
export function check(card: CardSnapshot, input: ActionInput, now: number): Rejection | undefined {
  const d = ACTION_DEFINITIONS[input.action];
  if (!d) return { code: 'INVALID_DATA', message: `unknown action ${String(input.action)}` };
  if (!d.routes.includes(card.route)) {
    return { code: 'ILLEGAL_TRANSITION', message: `${d.action} does not apply to ${ROUTE_LABELS[card.route]} (${card.route}) cards` };
  }
  if (!startsFrom(d, card.state)) {
    return { code: 'ILLEGAL_TRANSITION', message: `${d.action} is not allowed in state ${card.state} (${STATE_LABELS[card.state]})` };
  }
  if (!d.roles.includes(input.role)) {
    return { code: 'ROLE_NOT_ALLOWED', message: `role ${input.role} may not ${d.action}` };
  }
  if (d.proposal && !hasProposal(card, d.proposal)) {
    return { code: 'ILLEGAL_TRANSITION', message: `${d.action} needs an open ${d.proposal} proposal` };
  }
  if (d.reasonRequired && !(input.reason && input.reason.trim().length > 0)) {
    return { code: 'REASON_REQUIRED', message: `${d.action} requires a reason` };
  }
  const bad = checkData(card, input, now);
  return bad ? { code: 'INVALID_DATA', message: bad } : undefined;
}

/** The actions `role` may take on `card` now (data-dependent checks aside). */
export function allowedActions(card: CardSnapshot, role: ActorRole): CardAction[] {
  return ACTIONS.filter((action) => {
    const d = ACTION_DEFINITIONS[action];
    return (
      d.routes.includes(card.route) &&
      startsFrom(d, card.state) &&
      d.roles.includes(role) &&
      (!d.proposal || hasProposal(card, d.proposal)) &&
      !(action === 'propose_discard' && hasProposal(card, 'discard')) &&
      !(action === 'reject_proposal' && card.proposals.length === 0)
    );
  });
}

/** Roles that may take `action` at all: the access-control list the API enforces. */
export function rolesFor(action: CardAction): readonly ActorRole[] {
  return ACTION_DEFINITIONS[action].roles;
}

/** One thing that happened to a card, as recorded in its event log. */
export interface CardEvent {
  seq: number;
  /** An action name, or a system event: registered, proposal_opened, proposal_withdrawn, sla_late. */
  type: CardAction | 'registered' | 'proposal_opened' | 'proposal_withdrawn' | 'sla_late' | 'migrated';
  fromState: CardStateName;
  toState: CardStateName;
  at: number;
  actor: { userId: string; role: ActorRole; channel: Channel };
  reason?: string;
  data?: Record<string, unknown>;
}

export interface Transition {
  card: CardSnapshot;
  events: CardEvent[];
}

export interface Actor {
  userId: string;
  role: ActorRole;
  channel: Channel;
}

export const SYSTEM_ACTOR: Actor = { userId: 'system', role: 'system', channel: 'timer' };

function target(card: CardSnapshot, input: ActionInput): CardStateName {
  switch (input.action) {
    case 'inspect':
      return 'inspected';
    case 'ship_to_venue':
      return 'shipped_to_venue';
    case 'receive_at_venue':
      return 'at_venue';
    case 'mail_notice':
      return 'notice_mailed';
    case 'record_return':
      return 'notice_returned';
    case 'reserve':
      return 'reserved';
    case 'cancel_reservation':
      return card.bookedFrom ?? 'notice_mailed';
    case 'issue':
      return 'issued';
    case 'mark_documents_missing':
      return 'documents_missing';
    case 'confirm_no_show':
      return 'no_show';
    case 'pull_out':
      return 'on_hold';
    case 'release_hold':
      return card.heldFrom ?? 'received';
    case 'mark_removed':
      return 'removed';
    case 'approve_renotice':
      return 'renotice_approved';
    case 'mail_renotice':
      return 'renoticed';
    case 'approve_discard':
      return 'discarded';
    case 'approve_expiry':
      return 'expired';
    case 'hand_to_ward':
      return 'handed_to_ward';
    case 'record_ward_mailing':
      return 'mailed_by_ward';
    case 'record_jlis_mailing':
      return 'mailed_by_jlis';
    case 'record_delivery':
      return 'delivered';
    case 'record_reissue_request':
    case 'propose_discard':
    case 'reject_proposal':
      return card.state;
  }
}

/** Whether an open proposal of `kind` still makes sense for the card as it is now. */
export function proposalStillValid(card: CardSnapshot, kind: ProposalKind): boolean {
  if (isTerminal(card.state)) return false;
  switch (kind) {
    case 'no_show':
      return card.state === 'reserved';
    case 'renotice':
      return card.renoticedAt === undefined && ['notice_mailed', 'no_show', 'documents_missing', 'notice_returned'].includes(card.state);
    case 'expiry':
      return card.state !== 'expired';
    case 'discard':
      // A discard proposal lapses when the resident books or collects; it survives a hold.
      return !['reserved', 'renotice_approved'].includes(card.state);
  }
}

/**
 * Applies an action that `check` accepted. `extra` carries what the workflow learned on the way
 * (the booking number claimed for a reservation). Returns the new snapshot and its events.
 */
export function apply(card: CardSnapshot, input: ActionInput & { actor: Actor }, now: number, extra: { booking?: Booking } = {}): Transition {
  const rejection = check(card, input, now);
  if (rejection) throw new Error(`${rejection.code}: ${rejection.message}`);
  const to = target(card, input);
  const next: CardSnapshot = { ...card, state: to, proposals: [...card.proposals], rejected: [...card.rejected] };
  const data: Record<string, unknown> = { ...(input.data ?? {}) };
  switch (input.action) {
    case 'ship_to_venue':
      next.venueId = (input.data?.venueId as string | undefined) ?? card.venueId;
      data.venueId = next.venueId;
      break;
    case 'mail_notice':
      next.noticeMailedAt = now;
      next.late = false;
      break;
    case 'reserve':
      // A change keeps the state the card was first booked from.
      next.bookedFrom = card.state === 'reserved' ? card.bookedFrom : card.state;
      next.booking = extra.booking;
      next.venueId = extra.booking?.venueId ?? card.venueId;
      if (extra.booking) data.bookingNumber = extra.booking.bookingNumber;
      if (card.state === 'reserved' && card.booking) data.changedFrom = { venueId: card.booking.venueId, startsAt: card.booking.startsAt };
      break;
    case 'cancel_reservation':
    case 'confirm_no_show':
      next.booking = undefined;
      next.bookedFrom = undefined;
      break;
    case 'issue':
      next.issuedAt = now;
      next.closedAt = now;
      next.booking = undefined;
      break;
    case 'mark_documents_missing':
      next.booking = undefined;
      next.bookedFrom = undefined;
      break;
    case 'pull_out':
      next.heldFrom = card.state;
      break;
    case 'release_hold':
      next.heldFrom = undefined;
      break;
    case 'mail_renotice':
      next.renoticedAt = now;
      break;
    case 'approve_discard':
    case 'record_delivery':
      next.closedAt = now;
      next.booking = undefined;
      break;
    case 'propose_discard':
      next.proposals.push({ kind: 'discard', openedAt: now, reason: input.reason ?? '' });
      break;
    case 'reject_proposal': {
      const kind = input.data!.kind as ProposalKind;
      next.proposals = next.proposals.filter((p) => p.kind !== kind);
      if (!next.rejected.includes(kind)) next.rejected.push(kind);
      break;
    }
    default:
      break;
  }
  // A booking the card no longer holds is released; the projection marks it with this action.
  if (card.booking && !next.booking) data.releasedBooking = card.booking.bookingNumber;
  const d = ACTION_DEFINITIONS[input.action];
  if (d.proposal) next.proposals = next.proposals.filter((p) => p.kind !== d.proposal);

  let seq = card.seq + 1;
  const events: CardEvent[] = [
    {
      seq,
      type: input.action,
      fromState: card.state,
      toState: to,
      at: now,
      actor: input.actor,
      reason: input.reason,
      data: Object.keys(data).length > 0 ? data : undefined,
    },
  ];
  // Proposals that the new state makes moot are withdrawn, each with its own event.
  // A change of booking also withdraws a no-show proposal of the slot it replaces.
  const changed = input.action === 'reserve' && card.state === 'reserved';
  for (const p of next.proposals.filter((p) => !proposalStillValid(next, p.kind) || (changed && p.kind === 'no_show'))) {
    next.proposals = next.proposals.filter((q) => q !== p);
    events.push({ seq: ++seq, type: 'proposal_withdrawn', fromState: to, toState: to, at: now, actor: SYSTEM_ACTOR, data: { kind: p.kind } });
  }
  next.seq = seq;
  return { card: next, events };
}

/** The first snapshot of a card, and its `registered` event. */
export function register(
  input: { cardId: string; route: Route; venueId?: string; hasPhone: boolean; expiresOn?: string },
  actor: Actor,
  now: number,
): Transition {
  const card: CardSnapshot = {
    cardId: input.cardId,
    route: input.route,
    state: 'received',
    seq: 1,
    venueId: input.venueId,
    hasPhone: input.hasPhone,
    expiresOn: input.expiresOn,
    receivedAt: now,
    late: false,
    proposals: [],
    rejected: [],
  };
  return {
    card,
    events: [{ seq: 1, type: 'registered', fromState: 'received', toState: 'received', at: now, actor, data: { route: input.route, venueId: input.venueId } }],
  };
}

/** A card taken over from the previous vendor, as its old record says it is now. */
export interface CardMigrationInput {
  /** The previous vendor's name and the row of its export (1 = the first data row). */
  vendor: string;
  row: number;
  /** The old status code, kept as it was. */
  oldStatus: string;
  /** The state the mapping gives the old status. */
  state: CardStateName;
  /** Actions the old status implies had happened (recorded in the event, not replayed). */
  implies: CardAction[];
  /** The old record's card dates as ISO instants (the day's start in Asia/Tokyo when only a day is known). */
  receivedAt?: string;
  noticeMailedAt?: string;
  renoticedAt?: string;
  issuedAt?: string;
  /** The previous vendor's booking number, stored before the start ('legacy'), with or without a booking. */
  bookingNumber?: string;
  /** The booking the card holds (reserved cards), with the previous vendor's number. */
  booking?: Booking;
  /** The old dates as the export wrote them, by column, for the record. */
  oldDates: Record<string, string>;
}

/** Where a migrated card returns when its booking or hold ends: the state a card usually comes from. */
const MIGRATED_RETURNS_TO: CardStateName = 'notice_mailed';

/**
 * The first snapshot of a card migrated from the previous vendor, in its mapped state, and its
 * `migrated` event ("migrated from <vendor>, row N"), which keeps the old status code and dates.
 */
export function migrate(
  registration: { cardId: string; route: Route; venueId?: string; hasPhone: boolean; expiresOn?: string },
  m: CardMigrationInput,
  actor: Actor,
  now: number,
): Transition {
  const at = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
  const terminal = isTerminal(m.state);
  const issuedAt = m.state === 'issued' ? (at(m.issuedAt) ?? now) : undefined;
  const card: CardSnapshot = {
    cardId: registration.cardId,
    route: registration.route,
    state: m.state,
    seq: 1,
    venueId: m.booking?.venueId ?? registration.venueId,
    hasPhone: registration.hasPhone,
    expiresOn: registration.expiresOn,
    receivedAt: at(m.receivedAt) ?? now,
    noticeMailedAt: at(m.noticeMailedAt),
    renoticedAt: at(m.renoticedAt),
    issuedAt,
    closedAt: terminal ? (issuedAt ?? now) : undefined,
    late: false,
    heldFrom: m.state === 'on_hold' ? MIGRATED_RETURNS_TO : undefined,
    bookedFrom: m.state === 'reserved' ? MIGRATED_RETURNS_TO : undefined,
    booking: m.state === 'reserved' ? m.booking : undefined,
    proposals: [],
    rejected: [],
  };
  const data: Record<string, unknown> = {
    vendor: m.vendor,
    row: m.row,
    oldStatus: m.oldStatus,
    oldDates: m.oldDates,
    implies: m.implies,
    route: registration.route,
    venueId: card.venueId,
  };
  const number = m.booking?.bookingNumber ?? m.bookingNumber;
  if (number) data.bookingNumber = number;
  return {
    card,
    events: [{ seq: 1, type: 'migrated', fromState: m.state, toState: m.state, at: now, actor, reason: `migrated from ${m.vendor}, row ${m.row}`, data }],
  };
}
