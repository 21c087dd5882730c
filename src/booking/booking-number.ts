/**
 * Booking numbers (予約番号, R-11.2): one per card, kept through every change. Ours are ten digits,
 * nine drawn at random (the first not 0) and a Damm check digit, which catches every single wrong
 * digit and every swap of two neighbours, so that a mistyped number is refused before any lookup.
 * A new number is checked against every number ever known (`booking_number`, ours and the previous
 * vendor's) by its primary key: draw, insert, and on a conflict draw again. Never a guessed start.
 */
import { randomInt } from 'node:crypto';

/** Damm's totally anti-symmetric quasigroup of order 10. */
const DAMM = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
  [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
  [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
  [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
  [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
  [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
  [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/** The Damm check digit of a string of digits. */
export function dammDigit(digits: string): number {
  let interim = 0;
  for (const ch of digits) interim = DAMM[interim][ch.charCodeAt(0) - 48];
  return interim;
}

/** Our numbers: ten digits whose Damm check over all ten is 0. */
export const OUR_NUMBER = /^[1-9][0-9]{9}$/;

/** True for a ten-digit number whose check digit is wrong (a typo); other formats (the previous vendor's) are not judged. */
export function looksMistyped(number: string): boolean {
  return /^[0-9]{10}$/.test(number) && dammDigit(number) !== 0;
}

/** A fresh candidate: nine random digits (the first not 0) and their check digit. */
export function drawBookingNumber(): string {
  const body = String(randomInt(100_000_000, 1_000_000_000));
  return `${body}${dammDigit(body)}`;
}

/** Something that runs SQL (an EntityManager or a transaction of one). */
export interface SqlRunner {
  execute<T>(sql: string, params?: unknown[]): Promise<T>;
}

/**
 * The card's booking number, assigned now if it has none: a drawn candidate is inserted, and one
 * that any known number already holds (ours or the previous vendor's) is drawn again.
 */
export async function assignBookingNumber(tx: SqlRunner, cardId: string, draw: () => string = drawBookingNumber): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const have = await tx.execute<{ number: string }[]>(`select number from booking_number where card_id = ?`, [cardId]);
    if (have[0]) return have[0].number;
    const inserted = await tx.execute<{ number: string }[]>(
      `insert into booking_number (number, card_id, source) values (?, ?, 'ours') on conflict do nothing returning number`,
      [draw(), cardId],
    );
    if (inserted[0]) return inserted[0].number;
  }
  throw new Error('no free booking number found in 100 draws');
}
