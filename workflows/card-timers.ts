/**
 * The card's deadlines, as pure functions of the card and the ward's policy. The workflow sleeps
 * until the next deadline; when one passes, the matching rule opens a proposal (or sets the late
 * flag). A timer never moves a card by itself: staff approve what it proposes.
 */
import {
  type CardEvent,
  type CardSnapshot,
  type ProposalKind,
  PRE_NOTICE_STATES,
  SYSTEM_ACTOR,
  isTerminal,
  proposalStillValid,
} from './card-state-machine.js';

/** The ward's policy, in milliseconds so that tests can use seconds where production uses months. */
export interface CardPolicy {
  /** Receipt → notice mailed (R-2.2: "おおむね２週間以内", spec 6(1)②): 14 days. */
  noticeSlaMs: number;
  /** Notice mailed → re-notice proposed (R-6.1: "一定期間", agreed with the ward, spec 6(7)①). */
  renoticeAfterMs: number;
  /** Re-notice mailed → discard proposed (R-6.4: "一定期間", spec 6(7)⑥). */
  discardAfterRenoticeMs: number;
  /** End of the booked slot → no-show proposed. */
  noShowGraceMs: number;
  /** How long a finished card's workflow stays open, so that a retried request still gets its answer. */
  closeAfterMs: number;
  /**
   * Tests only: continue as new once the run's history holds this many events (production leaves it
   * unset and continues when Temporal suggests it). Above 3 (a new run's first task sees 3 events),
   * or every new run continues at once.
   */
  continueAsNewAfterEvents?: number;
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * Defaults. The specification sets only the two-week notice SLA; the re-notice and discard periods
 * are "a set period" agreed with the ward, so about three months each is a starting point the ward
 * replaces in configuration. The no-show grace lets a venue record a late issuance on the same day.
 */
export const DEFAULT_POLICY: CardPolicy = {
  noticeSlaMs: 14 * DAY,
  renoticeAfterMs: 90 * DAY,
  discardAfterRenoticeMs: 90 * DAY,
  noShowGraceMs: 2 * 60 * 60 * 1000,
  closeAfterMs: 1 * DAY,
};

/** End of an ISO calendar date in Asia/Tokyo (Japan has kept UTC+9 without daylight saving since 1951). */
export function endOfTokyoDay(isoDate: string): number {
  return Date.parse(`${isoDate}T00:00:00+09:00`) + DAY;
}

interface TimerRule {
  name: ProposalKind | 'sla_late';
  /** When the rule fires for this card, or undefined if it does not apply now. */
  dueAt(card: CardSnapshot, policy: CardPolicy): number | undefined;
}

function proposable(card: CardSnapshot, kind: ProposalKind): boolean {
  return !card.proposals.some((p) => p.kind === kind) && !card.rejected.includes(kind) && proposalStillValid(card, kind);
}

const RULES: TimerRule[] = [
  {
    name: 'sla_late',
    dueAt: (c, p) => (c.route === 'pickup' && !c.late && PRE_NOTICE_STATES.includes(c.state) ? c.receivedAt + p.noticeSlaMs : undefined),
  },
  {
    name: 'expiry',
    dueAt: (c) => (c.expiresOn && proposable(c, 'expiry') ? endOfTokyoDay(c.expiresOn) : undefined),
  },
  {
    name: 'no_show',
    dueAt: (c, p) => (c.booking && proposable(c, 'no_show') ? Date.parse(c.booking.endsAt) + p.noShowGraceMs : undefined),
  },
  {
    name: 'renotice',
    dueAt: (c, p) => (c.route === 'pickup' && c.noticeMailedAt !== undefined && proposable(c, 'renotice') ? c.noticeMailedAt + p.renoticeAfterMs : undefined),
  },
  {
    name: 'discard',
    dueAt: (c, p) => {
      if (!proposable(c, 'discard')) return undefined;
      // Expired cards and removed residents: at once, on the ward's instruction.
      if (c.state === 'expired' || c.state === 'removed') return c.receivedAt;
      // Still uncollected some time after the re-notice.
      if (c.renoticedAt !== undefined && ['renoticed', 'notice_returned', 'no_show', 'documents_missing'].includes(c.state)) {
        return c.renoticedAt + p.discardAfterRenoticeMs;
      }
      return undefined;
    },
  },
];

const REASONS: Record<TimerRule['name'], string> = {
  sla_late: '受領から交付通知書発送までの期限を超過',
  expiry: 'カードの有効期限が到来',
  no_show: '予約時間を過ぎても来場なし',
  renotice: '交付通知書の発送後、一定期間受取なし',
  discard: '廃棄対象（有効期限切れ・消除・再通知後一定期間受取なし）',
};

/** Applies every rule that is due at `now`; returns the new snapshot and the events (possibly none). */
export function fireDueTimers(card: CardSnapshot, policy: CardPolicy, now: number): { card: CardSnapshot; events: CardEvent[] } {
  if (isTerminal(card.state)) return { card, events: [] };
  let next = card;
  const events: CardEvent[] = [];
  for (const rule of RULES) {
    const due = rule.dueAt(next, policy);
    if (due === undefined || due > now) continue;
    const seq = next.seq + 1;
    if (rule.name === 'sla_late') {
      next = { ...next, seq, late: true };
      events.push({ seq, type: 'sla_late', fromState: next.state, toState: next.state, at: now, actor: SYSTEM_ACTOR, reason: REASONS.sla_late });
    } else {
      next = { ...next, seq, proposals: [...next.proposals, { kind: rule.name, openedAt: now, reason: REASONS[rule.name] }] };
      events.push({
        seq,
        type: 'proposal_opened',
        fromState: next.state,
        toState: next.state,
        at: now,
        actor: SYSTEM_ACTOR,
        reason: REASONS[rule.name],
        data: { kind: rule.name },
      });
    }
  }
  return { card: next, events };
}

/**
 * A new card as a starter that writes its first projection records it (`projectedAt`): its first
 * transition (registration, or a card taken over), then the timers already due at that instant (an
 * old notice's re-notice proposal, a residence period already ended). The workflow builds the same
 * from the same input, so that its first task records only its timer.
 */
export function withDueTimers(first: { card: CardSnapshot; events: CardEvent[] }, policy: CardPolicy, at: number): { card: CardSnapshot; events: CardEvent[] } {
  const fired = fireDueTimers(first.card, policy, at);
  return { card: fired.card, events: [...first.events, ...fired.events] };
}

/** The next instant after `now` at which a rule becomes due, or undefined if none will. */
export function nextDeadline(card: CardSnapshot, policy: CardPolicy, now: number): number | undefined {
  if (isTerminal(card.state)) return undefined;
  let next: number | undefined;
  for (const rule of RULES) {
    const due = rule.dueAt(card, policy);
    if (due !== undefined && due > now && (next === undefined || due < next)) next = due;
  }
  return next;
}
