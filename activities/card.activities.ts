/** The card workflow's activities, as types the workflow imports (`import type`) and the worker implements. */
import type { Booking, CardEvent, CardSnapshot } from '../workflows/card-state-machine.js';

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
  /** Marks the card as stuck: its timer projection keeps failing (health and the office's list show it). */
  reportStuck(input: ReportStuckInput): Promise<void>;
}
