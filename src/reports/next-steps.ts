/**
 * A card's next step for the hand-over of unfinished work, derived from the state machine's
 * action table (`ACTION_DEFINITIONS` through `allowedActions`), not from a table of its own: the
 * actions some role may take on the card now, without the side roads every open card has (pull
 * out, removal from the register, proposing a discard, rejecting a proposal). An action that carries
 * out a proposal the card holds (approve a discard, an expiry, a re-notice, confirm a no-show) is a
 * next step. A card with nothing but side roads (e.g. removed from the register, no proposal yet)
 * shows those side roads.
 */
import {
  ACTIONS,
  ACTION_DEFINITIONS,
  STATES,
  TERMINAL_STATES,
  allowedActions,
  type ActorRole,
  type CardAction,
  type CardSnapshot,
  type CardStateName,
  type ProposalKind,
  type Route,
} from '../../workflows/card-state-machine.js';
import { ROLE_LABELS } from '../web/view-helpers.js';

const ACTORS: readonly ActorRole[] = ['office', 'venue', 'callcenter', 'ward', 'resident', 'system'];
const OPEN_STATES = STATES.filter((s) => !TERMINAL_STATES.includes(s));

/** An action that starts from (nearly) every open state and carries out no proposal. */
function isSideRoad(action: CardAction): boolean {
  const d = ACTION_DEFINITIONS[action];
  if (d.proposal) return false;
  const from = d.from === 'open' ? OPEN_STATES : d.from;
  return from.length >= OPEN_STATES.length - 1;
}

export interface NextStep {
  action: CardAction;
  label: string;
  roles: ActorRole[];
}

export function nextSteps(card: { route: Route; state: CardStateName; proposals: readonly ProposalKind[] }): NextStep[] {
  const snapshot: CardSnapshot = {
    cardId: 'next-step',
    route: card.route,
    state: card.state,
    seq: 0,
    hasPhone: false,
    receivedAt: 0,
    late: false,
    proposals: card.proposals.map((kind) => ({ kind, openedAt: 0, reason: '' })),
    rejected: [],
  };
  const byRole = new Map(ACTORS.map((r) => [r, new Set(allowedActions(snapshot, r))]));
  const steps = ACTIONS.map((action) => ({ action, label: ACTION_DEFINITIONS[action].label, roles: ACTORS.filter((r) => byRole.get(r)!.has(action)) })).filter((s) => s.roles.length > 0);
  const main = steps.filter((s) => !isSideRoad(s.action));
  return main.length > 0 ? main : steps.filter((s) => s.action !== 'reject_proposal');
}

/** 「交付［交付会場］／書類不備［交付会場］」. */
export function nextStepsText(steps: readonly NextStep[]): string {
  return steps.map((s) => `${s.label}［${s.roles.map((r) => ROLE_LABELS[r] ?? r).join('・')}］`).join('／');
}
