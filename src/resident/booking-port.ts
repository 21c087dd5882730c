/** What the residents' pages need of BookingService (issue 9's booking contract). */
export interface SlotKey {
  venueId: string;
  startsAt: string;
}
export interface SlotView {
  venueId: string;
  startsAt: string;
  endsAt: string;
  capacity: number;
  booked: number;
  free: number;
  open: boolean;
}
export type ResidentBooker = { kind: 'resident'; bookingNumber: string; channel: 'resident-web' };

export interface BookingPort {
  freeSlots(venueId: string, fromDate: string, toDate: string): Promise<SlotView[]>;
  monthAvailability(venueId: string, month: string): Promise<{ date: string; free: number; open: boolean }[]>;
  earliestDate(booker: ResidentBooker, today?: string): string;
  book(cardId: string, slot: SlotKey, booker: ResidentBooker, idempotencyKey: string): Promise<unknown>;
  cancel(cardId: string, booker: ResidentBooker, idempotencyKey: string, reason?: string): Promise<unknown>;
  currentBooking(cardId: string): Promise<{ bookingNumber: string; venueId: string; startsAt: string; endsAt: string } | null>;
}

export const RESIDENT_BOOKING = Symbol('RESIDENT_BOOKING');
