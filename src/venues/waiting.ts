/**
 * The waiting estimate at a venue's counter: the residents who booked, checked in and are
 * not yet served, in order of arrival; each waits for those ahead of them, times the minutes a
 * counter takes per resident (configured). Ward-approved unbooked residents are served in
 * between and are not counted, so that they never lengthen a booked resident's estimate.
 */
export interface Arrival {
  cardId: string;
  arrivedAt: Date | null;
  served: boolean;
}

export interface WaitingEstimate {
  /** Booked residents checked in and not yet served. */
  waiting: number;
  minutesPerResident: number;
  /** Minutes until a resident checking in now is called. */
  nextMinutes: number;
  /** Per waiting card: how many are ahead of it, and the minutes that makes. */
  byCard: Map<string, { ahead: number; minutes: number }>;
}

export function waitingEstimate(bookings: readonly Arrival[], minutesPerResident: number): WaitingEstimate {
  const queue = bookings
    .filter((b) => b.arrivedAt && !b.served)
    .sort((a, b) => a.arrivedAt!.getTime() - b.arrivedAt!.getTime() || a.cardId.localeCompare(b.cardId));
  const byCard = new Map(queue.map((b, i) => [b.cardId, { ahead: i, minutes: i * minutesPerResident }]));
  return { waiting: queue.length, minutesPerResident, nextMinutes: queue.length * minutesPerResident, byCard };
}
