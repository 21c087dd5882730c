/**
 * The card workflow's messages, defined once and shared by the workflow and its clients
 * (the API, the CLI, the tests).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ActionInput, Actor, CardEvent, CardMigrationInput, CardSnapshot, Route } from './card-state-machine.js';
import type { CardPolicy } from './card-timers.js';

export const CARDS_TASK_QUEUE = 'cards';

export function cardWorkflowId(cardId: string): string {
  return `card-${cardId}`;
}

/** What the workflow needs to know when a card is registered. No personal data: that stays in PostgreSQL. */
export interface CardRegistration {
  cardId: string;
  route: Route;
  /** Venue allocated from the resident's address (R-3.1, 別紙②); the office may ship elsewhere. */
  venueId?: string;
  /** Whether the resident gave a phone number: no-show callbacks need one. */
  hasPhone: boolean;
  /** Last day of validity, ISO date in Asia/Tokyo. */
  expiresOn?: string;
}

export interface CardWorkflowInput {
  registration: CardRegistration;
  policy: CardPolicy;
  /** Who registered the card. */
  actor: Actor;
  /** Set when the workflow continues as new: the card as it was. */
  resume?: CardSnapshot;
  /**
   * Set for a card taken over from the previous vendor: the card starts in its mapped state
   * with a `migrated` event instead of `registered`. Only new workflows carry it.
   */
  migrated?: CardMigrationInput;
  /**
   * Set when the workflow continues as new: the requests applied recently (the last day, at most
   * 100) with their answers, so that a retry that spans the new run gets its first answer instead
   * of being applied again (Temporal de-duplicates update ids only within one run).
   */
  applied?: AppliedRequest[];
  /**
   * Set by whoever starts a new card (`PATCHES_AT_START`): the patches checked at the start of a run
   * whose new branch this card takes from its first run, declared here instead of recorded as a
   * marker. Carried into later runs with the rest of the input.
   */
  patchesAtStart?: string[];
  /**
   * Set by a starter that wrote the card's first projection itself, before the start (registration:
   * its row and its `registered` event, in the batch's statement; the hand-over import, for a plain
   * migrated card: its row and its `migrated` event): the instant it registered the card as. The workflow builds the same first state from it, and records only what comes after. Only
   * new workflows carry it; a card without it projects its registration in its first task.
   */
  projectedAt?: number;
}

/**
 * The patches that every card started now takes (`bounded-projection`, checked at the start of a
 * run; `reserve-one-transaction`, at a reservation).
 * A new card declares them in its input rather than through `patched()`: for a patch, Temporal records
 * a marker *and* upserts the `TemporalChangeVersion` search attribute (a visibility write) in the
 * card's first workflow task, about 1.5 ms of Temporal's CPU per registered card (README, Benchmark).
 * Recorded histories carry no such input and call `patched()` as they did.
 */
export const PATCHES_AT_START: readonly string[] = ['bounded-projection', 'reserve-one-transaction'];

/** The patch under which a reservation's claim and projection are one local activity (`reserveCard`). */
export const RESERVE_IN_ONE_TRANSACTION = 'reserve-one-transaction';

/** A request the card applied: its update id (the caller's idempotency key), when, and its answer. */
export interface AppliedRequest {
  id: string;
  at: number;
  result: CardActionResult;
}

export interface CardActionRequest extends Omit<ActionInput, 'role'> {
  actor: Actor;
}

export interface CardActionResult {
  card: CardSnapshot;
  events: CardEvent[];
}

/** Every staff and resident action. The update id is the caller's idempotency key. */
export const cardActionUpdate = defineUpdate<CardActionResult, [CardActionRequest]>('cardAction');
/** The card as the workflow holds it now. */
export const cardQuery = defineQuery<CardSnapshot>('card');
/** The ward changed its policy: running cards recompute their deadlines. */
export const policyChangedSignal = defineSignal<[CardPolicy]>('policyChanged');
