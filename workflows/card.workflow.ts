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
  isCancellation,
  patched,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { CardActivities } from '../activities/card.activities.js';
import {
  type AppliedRequest,
  type CardActionRequest,
  type CardActionResult,
  type CardWorkflowInput,
  RESERVE_IN_ONE_TRANSACTION,
  cardActionUpdate,
  cardQuery,
  policyChangedSignal,
} from './card-messages.js';
import { type CardEvent, type CardSnapshot, type Rejection, apply, check, isTerminal, migrate, register } from './card-state-machine.js';
import { fireDueTimers, nextDeadline, withDueTimers } from './card-timers.js';

// Local activities: a projection is a short database write, and running it in the workflow task's
// own worker saves a round trip through the server per transition.
// Cards started before the 'bounded-projection' patch retry for ever, as they did.
const legacy = proxyLocalActivities<CardActivities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});
// A few quick attempts (about 6 s), none for data PostgreSQL will never take (DATA_REFUSED): an
// action that cannot be recorded is answered with an error instead of holding the card for ever.
const bounded = proxyLocalActivities<CardActivities>({
  startToCloseTimeout: '10 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 6, nonRetryableErrorTypes: ['DATA_REFUSED'] },
});

/** First wait before a timer projection that failed is tried again, and the longest. */
const STUCK_RETRY_FIRST_MS = 60_000;
const STUCK_RETRY_MAX_MS = 3_600_000;

/** Applied requests carried into the next run: those of the last day, at most this many. */
const APPLIED_KEEP = 100;
const APPLIED_KEEP_MS = 24 * 60 * 60 * 1000;

/** The applied requests still worth carrying at `now`: of the last day, the newest APPLIED_KEEP. */
function recentlyApplied(applied: Map<string, AppliedRequest>, now: number): AppliedRequest[] {
  return [...applied.values()].filter((a) => a.at >= now - APPLIED_KEEP_MS).slice(-APPLIED_KEEP);
}

/** Why an activity failed, as the API answers it: refused data, or the database not answering. */
function notRecorded(e: unknown, card: CardSnapshot): ApplicationFailure {
  if (isCancellation(e)) throw e;
  // The activity's own failure: the error itself or its cause (an ActivityFailure wraps it).
  let cause: { type?: unknown; message?: unknown; cause?: unknown } | undefined = e as typeof cause;
  while (cause && typeof cause.type !== 'string' && cause.cause) cause = cause.cause as typeof cause;
  const refused = cause?.type === 'DATA_REFUSED';
  const why = typeof cause?.type === 'string' && typeof cause.message === 'string' ? cause.message : 'the database did not answer';
  return ApplicationFailure.create({
    type: refused ? 'CHANGE_REFUSED' : 'CHANGE_NOT_RECORDED',
    message: `the change could not be recorded, nothing changed: ${why}`,
    nonRetryable: true,
    details: [{ state: card.state, cardId: card.cardId }],
  });
}

function rejected(r: Rejection, card: CardSnapshot): ApplicationFailure {
  return ApplicationFailure.create({ type: r.code, message: r.message, nonRetryable: true, details: [{ state: card.state, cardId: card.cardId }] });
}

export async function cardWorkflow(input: CardWorkflowInput): Promise<CardSnapshot> {
  // Bounded projection retries; an action is recorded before the workflow takes its new state. A
  // card started with the patch in its input takes it without a marker (no history before it has
  // that input, so each replays as it ran).
  const safe = input.patchesAtStart?.includes('bounded-projection') === true || patched('bounded-projection');
  const { projectCard, claimBooking, reportStuck, reserveCard } = safe ? bounded : legacy;
  let policy = input.policy;
  let card: CardSnapshot;
  let unprojected: CardEvent[] = [];
  if (input.resume) {
    card = input.resume;
  } else if (input.migrated) {
    // A card taken over from the previous vendor: a new input, so no recorded history takes this path.
    // Its first projection written by the import when it is plain (`projectedAt`), else here.
    const t = migrate(input.registration, input.migrated, input.actor, input.projectedAt ?? Date.now());
    if (input.projectedAt === undefined) {
      card = t.card;
      unprojected = t.events;
    } else card = withDueTimers(t, policy, input.projectedAt).card;
  } else if (input.projectedAt !== undefined) {
    // Registered by the API, its first projection written there (the same transitions, at that instant).
    card = withDueTimers(register(input.registration, input.actor, input.projectedAt), policy, input.projectedAt).card;
  } else {
    const t = register(input.registration, input.actor, Date.now());
    card = t.card;
    unprojected = t.events;
  }
  // Requests applied in this run and (carried over) in the runs before it, by update id, oldest first.
  const applied = new Map<string, AppliedRequest>((input.applied ?? []).map((a) => [a.id, a]));
  // Bumped on every change the main loop must look at (an action, a new policy).
  let changes = 0;
  // One change at a time: an action that awaits (a booking claim, its projection) is never
  // interleaved with another action or with the timers.
  let busy = false;
  async function exclusively<T>(fn: () => Promise<T>): Promise<T> {
    // Every waiter whose condition holds is woken in the same pass, so two changes that arrive in one
    // workflow task (two actions, an action and a timer) would both run: the one woken second waits
    // again. Runs that raced before this patch replay as they ran (the patch is checked only then).
    do await condition(() => !busy);
    while (busy && patched('serial-changes'));
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
      const knownId = currentUpdateInfo()?.id;
      // A retry of a request applied in an earlier run: its first answer, nothing applied again.
      const before = knownId === undefined ? undefined : applied.get(knownId);
      if (before) return Promise.resolve(before.result);
      const updateId = knownId ?? `${workflowInfo().runId}-${card.seq}`;
      const remember = (t: CardActionResult): CardActionResult => {
        if (knownId === undefined) return t;
        applied.set(knownId, { id: knownId, at: Date.now(), result: t });
        // Bounded within a run too: the oldest go first.
        if (applied.size > APPLIED_KEEP) applied.delete(applied.keys().next().value!);
        return t;
      };
      return exclusively(async () => {
        const request = { ...req, role: req.actor.role };
        // Checked again: the card may have moved while this update waited for its turn.
        const rejection = check(card, request, Date.now());
        if (rejection) throw rejected(rejection, card);
        let booking;
        if (req.action === 'reserve') {
          const claim = {
            cardId: card.cardId,
            requestId: updateId,
            venueId: (req.data?.venueId as string | undefined) ?? card.venueId!,
            startsAt: req.data!.startsAt as string,
            endsAt: req.data!.endsAt as string,
          };
          // One local activity claims the place and records the change in one transaction, and the
          // workflow applies the same transition with the booking it answers. Cards started with the
          // patch in their input take it without a marker; runs that reserved before it replay the
          // claim and the projection as two activities.
          if (safe && (input.patchesAtStart?.includes(RESERVE_IN_ONE_TRANSACTION) === true || patched(RESERVE_IN_ONE_TRANSACTION))) {
            const now = Date.now();
            try {
              booking = await reserveCard({ claim, card, request, now, unprojected });
            } catch (e) {
              throw notRecorded(e, card);
            }
            const t = apply(card, request, now, { booking });
            unprojected = [];
            card = t.card;
            changes++;
            return remember(t);
          }
          if (!safe) booking = await claimBooking(claim);
          else {
            try {
              booking = await claimBooking(claim);
            } catch (e) {
              throw notRecorded(e, card);
            }
          }
        }
        const t = apply(card, request, Date.now(), { booking });
        if (!safe) {
          card = t.card;
          await projectCard({ card, events: t.events });
          changes++;
          return remember(t);
        }
        // Recorded first, then taken: a change the database refuses leaves the card as it was.
        try {
          await projectCard({ card: t.card, events: [...unprojected, ...t.events] });
        } catch (e) {
          throw notRecorded(e, card);
        }
        unprojected = [];
        card = t.card;
        changes++;
        return remember(t);
      });
    },
    {
      validator: (req: CardActionRequest) => {
        // A retry of an applied request is answered, not checked again (the card has moved on).
        const id = currentUpdateInfo()?.id;
        if (id !== undefined && applied.has(id)) return;
        const rejection = check(card, { ...req, role: req.actor.role }, Date.now());
        if (rejection) throw rejected(rejection, card);
      },
    },
  );

  // While a timer projection keeps failing: when to try again, and how many times it failed.
  let retryAt: number | undefined;
  let failures = 0;
  while (true) {
    await exclusively(async () => {
      const fired = fireDueTimers(card, policy, Date.now());
      const events = [...unprojected, ...fired.events];
      if (!safe) {
        card = fired.card;
        unprojected = [];
        if (events.length > 0) await projectCard({ card, events });
        return;
      }
      if (events.length === 0) {
        card = fired.card;
        retryAt = undefined;
        return;
      }
      try {
        await projectCard({ card: fired.card, events });
        card = fired.card;
        unprojected = [];
        retryAt = undefined;
        failures = 0;
      } catch (e) {
        // The card keeps its last recorded state (the timers fire again on the next try) and stays
        // open to actions; the office sees it in the stuck-cards list until a projection succeeds.
        const failure = notRecorded(e, card);
        failures++;
        retryAt = Date.now() + Math.min(STUCK_RETRY_MAX_MS, STUCK_RETRY_FIRST_MS * 2 ** (failures - 1));
        try {
          await reportStuck({ cardId: card.cardId, seq: events[0].seq, error: failure.message });
        } catch (report) {
          if (isCancellation(report)) throw report;
        }
      }
    });
    if (isTerminal(card.state)) break;
    // Events not yet recorded (a stuck registration) would be lost by continuing as new: not then.
    const info = workflowInfo();
    const long = info.continueAsNewSuggested || (policy.continueAsNewAfterEvents !== undefined && info.historyLength >= policy.continueAsNewAfterEvents);
    if (long && !(safe && unprojected.length > 0)) {
      await condition(allHandlersFinished);
      // The requests applied lately go with the card, so a retry in the next run gets its answer.
      // Runs that continued before this patch carried the card alone.
      const carry = patched('carry-applied-requests');
      await continueAsNew<typeof cardWorkflow>({ ...input, policy, resume: card, applied: carry ? recentlyApplied(applied, Date.now()) : undefined });
    }
    const seen = changes;
    const deadline = retryAt ?? nextDeadline(card, policy, Date.now());
    if (deadline === undefined) await condition(() => changes !== seen);
    else await condition(() => changes !== seen, Math.max(1, deadline - Date.now()));
  }

  // The card is finished. The workflow stays open a little longer so that a retried request gets
  // its original answer (updates are de-duplicated by id within a run), then completes.
  await sleep(policy.closeAfterMs);
  await condition(allHandlersFinished);
  return card;
}
