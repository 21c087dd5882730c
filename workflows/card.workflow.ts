/**
 * One card, one workflow: it owns the card's state and history from receipt to issuance, discard or
 * expiry, and holds the timers that propose what happens when nobody acts.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { CardActivities } from '../activities/card.activities.js';
import { type CardActionRequest, type CardWorkflowInput, cardActionUpdate, cardQuery, policyChangedSignal } from './card-messages.js';
import { type CardEvent, type CardSnapshot, type Rejection, apply, check, isTerminal, register } from './card-state-machine.js';
import { fireDueTimers, nextDeadline } from './card-timers.js';

// Local activities: a projection is a short database write, and running it in the workflow task's
// own worker saves a round trip through the server per transition.
const { projectCard, claimBooking } = proxyLocalActivities<CardActivities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

function rejected(r: Rejection, card: CardSnapshot): ApplicationFailure {
  return ApplicationFailure.create({ type: r.code, message: r.message, nonRetryable: true, details: [{ state: card.state, cardId: card.cardId }] });
}

export async function cardWorkflow(input: CardWorkflowInput): Promise<CardSnapshot> {
  let policy = input.policy;
  let card: CardSnapshot;
  let unprojected: CardEvent[] = [];
  if (input.resume) {
    card = input.resume;
  } else {
    const t = register(input.registration, input.actor, Date.now());
    card = t.card;
    unprojected = t.events;
  }
  // Bumped on every change the main loop must look at (an action, a new policy).
  let changes = 0;
  // One change at a time: an action that awaits (a booking claim, its projection) is never
  // interleaved with another action or with the timers.
  let busy = false;
  async function exclusively<T>(fn: () => Promise<T>): Promise<T> {
    await condition(() => !busy);
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
    }
  }

  setHandler(cardQuery, () => card);
  setHandler(policyChangedSignal, (next) => {
    policy = next;
    changes++;
  });
  setHandler(
    cardActionUpdate,
    (req: CardActionRequest) => {
      const updateId = currentUpdateInfo()?.id ?? `${workflowInfo().runId}-${card.seq}`;
      return exclusively(async () => {
        const request = { ...req, role: req.actor.role };
        // Checked again: the card may have moved while this update waited for its turn.
        const rejection = check(card, request, Date.now());
        if (rejection) throw rejected(rejection, card);
        let booking;
        if (req.action === 'reserve') {
          booking = await claimBooking({
            cardId: card.cardId,
            requestId: updateId,
            venueId: (req.data?.venueId as string | undefined) ?? card.venueId!,
            startsAt: req.data!.startsAt as string,
            endsAt: req.data!.endsAt as string,
          });
        }
        const t = apply(card, request, Date.now(), { booking });
        card = t.card;
        await projectCard({ card, events: t.events });
        changes++;
        return t;
      });
    },
    {
      validator: (req: CardActionRequest) => {
        const rejection = check(card, { ...req, role: req.actor.role }, Date.now());
        if (rejection) throw rejected(rejection, card);
      },
    },
  );

  while (true) {
    await exclusively(async () => {
      const fired = fireDueTimers(card, policy, Date.now());
      card = fired.card;
      const events = [...unprojected, ...fired.events];
      unprojected = [];
      if (events.length > 0) await projectCard({ card, events });
    });
    if (isTerminal(card.state)) break;
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof cardWorkflow>({ ...input, policy, resume: card });
    }
    const seen = changes;
    const deadline = nextDeadline(card, policy, Date.now());
    if (deadline === undefined) await condition(() => changes !== seen);
    else await condition(() => changes !== seen, Math.max(1, deadline - Date.now()));
  }

  // The card is finished. The workflow stays open a little longer so that a retried request gets
  // its original answer (updates are de-duplicated by id within a run), then completes.
  await sleep(policy.closeAfterMs);
  await condition(allHandlersFinished);
  return card;
}
