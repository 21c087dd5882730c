/** The card workflow's activities, as types the workflow imports (`import type`) and the worker implements. */
import type { ActionInput, Actor, Booking, CardEvent, CardSnapshot } from '../workflows/card-state-machine.js';

export interface ProjectCardInput {
  card: CardSnapshot;
  events: CardEvent[];
}

export interface ClaimBookingInput {
  cardId: string;
  /** The reserve update's id: claiming twice with the same id returns the same booking. */
  requestId: string;
  venueId: string;
  startsAt: string;
  endsAt: string;
}

export interface ReserveCardInput {
  claim: ClaimBookingInput;
  /** The card before the booking, the request, and the instant the workflow applies it at. */
  card: CardSnapshot;
  request: ActionInput & { actor: Actor };
  now: number;
  /** Events the card has not recorded yet (a registration whose projection failed): recorded with it. */
  unprojected: CardEvent[];
}

export interface ReportStuckInput {
  cardId: string;
  /** The first event that could not be recorded. */
  seq: number;
  /** Why, without the refused values. */
  error: string;
}

export interface CardActivities {
  /** Writes the card's read-model row and its new events in one transaction; idempotent on (card, seq). */
  projectCard(input: ProjectCardInput): Promise<void>;
  /** Claims a booking (and its number) for a slot; idempotent on the request id. */
  claimBooking(input: ClaimBookingInput): Promise<Booking>;
  /**
   * Claims the booking and records the card's `reserve` (its row and events, the booking it
   * replaces released) in one transaction: the workflow applies the same transition with the
   * booking it answers. Idempotent on the request id; a full slot changes nothing.
   */
  reserveCard(input: ReserveCardInput): Promise<Booking>;
  /** Marks the card as stuck: its timer projection keeps failing (health and the office's list show it). */
  reportStuck(input: ReportStuckInput): Promise<void>;
}
