/**
 * Shelf reconciliation: at the hand-over, staff of both vendors go along a venue's
 * shelves and scan (or type) every card there into a session. Each scan is resolved against the read
 * model and recorded once (append-only `reconciliation_scan`):
 * - `found`: the card is in the data at this venue (`card.venue_id` is the venue and its state is
 *   one of `KEPT_STATES`, or `on_hold` held from one of them: the same rule as the venue's stock);
 *   its storage place is set from the scan (`card_storage`);
 * - `wrong_venue`: the card is kept at (or on its way to) another venue in the data; a `transfer`
 *   task goes to the office's list;
 * - `unexpected`: the number is not in the data, or the card is known but not kept anywhere in the
 *   data (issued, discarded, expired, handed to the ward, still at the centre, ...).
 * `missing` are the cards in the data at this venue that no scan of the session found: computed
 * live while the session is open, frozen into `reconciliation_missing` when it closes.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { VenueScope } from '../cards/venue-scope.js';
import type { CardStateName } from '../../workflows/card-state-machine.js';
import type { TasksRepository } from '../tasks/tasks.repository.js';
import type { CardStorageRepository } from './card-storage.repository.js';
import { KEPT_STATES } from './venue-desk.repository.js';
import { VenuesErrorCode, VenuesException } from './venues.exception.js';

export type ScanOutcome = 'found' | 'unexpected' | 'wrong_venue';
export type ReportOutcome = ScanOutcome | 'missing';

export interface ReconciliationSession {
  id: string;
  venueId: string;
  openedBy: string;
  openedAt: Date;
  closedBy: string | null;
  closedAt: Date | null;
  previousVendorStaff: string | null;
  ourStaff: string | null;
}

export interface ScanRecord {
  id: string;
  scanned: string;
  cardId: string | null;
  outcome: ScanOutcome;
  cardVenueId: string | null;
  cardState: CardStateName | null;
  bookingNumber: string | null;
  place: string;
  taskId: string | null;
  scannedBy: string;
  scannedAt: Date;
}

export interface MissingCard {
  cardId: string;
  state: CardStateName;
  bookingNumber: string | null;
  /** Where the data says the card is kept (before the session). */
  place: string | null;
}

export interface SessionCounts {
  found: number;
  missing: number;
  unexpected: number;
  wrongVenue: number;
}

/** Cards of another venue in these states are that venue's: found here, they go there. */
const TRANSFERABLE: readonly CardStateName[] = [...KEPT_STATES, 'shipped_to_venue'];

const isKept = (state: string, heldFrom: string | null, states: readonly CardStateName[] = KEPT_STATES) =>
  states.includes(state as CardStateName) || (state === 'on_hold' && heldFrom !== null && states.includes(heldFrom as CardStateName));

type Row = Record<string, any>;

const session = (r: Row): ReconciliationSession => ({
  id: String(r.id),
  venueId: r.venue_id,
  openedBy: r.opened_by,
  openedAt: new Date(r.opened_at),
  closedBy: r.closed_by,
  closedAt: r.closed_at ? new Date(r.closed_at) : null,
  previousVendorStaff: r.previous_vendor_staff,
  ourStaff: r.our_staff,
});

const scan = (r: Row): ScanRecord => ({
  id: String(r.id),
  scanned: r.scanned,
  cardId: r.card_id,
  outcome: r.outcome,
  cardVenueId: r.card_venue_id,
  cardState: r.card_state,
  bookingNumber: r.booking_number,
  place: r.place,
  taskId: r.task_id === null || r.task_id === undefined ? null : String(r.task_id),
  scannedBy: r.scanned_by,
  scannedAt: new Date(r.scanned_at),
});

/** The read model's rule for "kept at venue ?", as SQL on `card c` (parameters: the states twice). */
const KEPT_SQL = `(c.state in (${KEPT_STATES.map(() => '?').join(', ')}) or (c.state = 'on_hold' and c.snapshot->>'heldFrom' in (${KEPT_STATES.map(() => '?').join(', ')})))`;

export const closedError = (id: string) =>
  new VenuesException(VenuesErrorCode.RECONCILIATION_CLOSED, 'この照合はすでに終了しています。終了した照合は変更できません（記録はレポートで確かめられます）。続けるときは新しい照合を始めてください。', { session: id });

/** What a scan does besides its own row: `ReconciliationRepository.scan`'s `effects`. */
export type ScanEffects = Parameters<ReconciliationRepository['scan']>[3];

/**
 * The effects of scans at a venue's shelf (the page's, and the demo's): a card of another venue
 * opens a transfer task for the office, saying where it was found; a found card gets its storage place.
 */
export function shelfScanEffects(
  deps: { tasks: TasksRepository; storage: CardStorageRepository; venueName: (id: string | null) => string },
  at: { sessionId: string; venueId: string; place: string; userName: string },
): ScanEffects {
  return {
    openTransfer: async (card) => {
      const note = `棚の照合（照合 ${at.sessionId}）で${deps.venueName(at.venueId)}の棚（${at.place}）から見つかりました。データ上の保管会場は${deps.venueName(card.venueId)}です。${deps.venueName(card.venueId)}へ移送するか、データを直してください。`;
      return (await deps.tasks.open({ kind: 'transfer', cardId: card.cardId, venueId: null, note: note.slice(0, 2000), createdBy: at.userName })).id;
    },
    setPlace: (cardId) => deps.storage.set(cardId, at.venueId, at.place, at.userName),
  };
}

@Injectable()
export class ReconciliationRepository {
  constructor(private readonly em: EntityManager) {}

  private run<T = Row>(sql: string, params: unknown[]): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  /** The venue's sessions, newest first, with their counts of scans. */
  async sessions(venueId: string, limit = 50): Promise<(ReconciliationSession & { scans: number })[]> {
    const rows = await this.run(
      `select s.*, (select count(*)::int from reconciliation_scan r where r.session_id = s.id) as scans
         from reconciliation_session s where s.venue_id = ? order by s.opened_at desc, s.id desc limit ?`,
      [venueId, limit],
    );
    return rows.map((r) => ({ ...session(r), scans: r.scans }));
  }

  /** Opens a session at the venue, or returns the one already open there. */
  async open(venueId: string, userName: string): Promise<{ session: ReconciliationSession; created: boolean }> {
    const [created] = await this.run(
      `insert into reconciliation_session (venue_id, opened_by) values (?, ?) on conflict (venue_id) where closed_at is null do nothing returning *`,
      [venueId, userName],
    );
    if (created) return { session: session(created), created: true };
    const [open] = await this.run(`select * from reconciliation_session where venue_id = ? and closed_at is null`, [venueId]);
    return { session: session(open), created: false };
  }

  /** The session, if it is one of this venue's. */
  async get(venueId: string, id: string): Promise<ReconciliationSession | undefined> {
    const [r] = await this.run(`select * from reconciliation_session where id = ? and venue_id = ?`, [id, venueId]);
    return r ? session(r) : undefined;
  }

  /** One scan of the session. */
  async scanById(sessionId: string, scanId: string): Promise<ScanRecord | undefined> {
    const [r] = await this.run(`select * from reconciliation_scan where session_id = ? and id = ?`, [sessionId, scanId]);
    return r ? scan(r) : undefined;
  }

  /** The card a scanned text names: its id (as typed or in capitals), its booking number (ours or the previous vendor's), an older booking's number. */
  async resolve(text: string): Promise<{ cardId: string; venueId: string | null; state: CardStateName; heldFrom: string | null; bookingNumber: string | null } | undefined> {
    const [r] = await this.run(
      `with hit as (
         select card_id, 1 as ord from card where card_id = ?
         union all select card_id, 2 from card where card_id = upper(?)
         union all select card_id, 3 from booking_number where number = ? and card_id is not null
         union all select card_id, 4 from card where booking_number = ?
         union all select card_id, 5 from booking where booking_number = ?
       )
       select c.card_id, c.venue_id, c.state, c.snapshot->>'heldFrom' as held_from,
              coalesce((select bn.number from booking_number bn where bn.card_id = c.card_id), c.booking_number) as booking_number
         from hit join card c on c.card_id = hit.card_id order by hit.ord limit 1`,
      [text, text, text, text, text],
    );
    return r ? { cardId: r.card_id, venueId: r.venue_id, state: r.state, heldFrom: r.held_from, bookingNumber: r.booking_number } : undefined;
  }

  /**
   * Records one scan. A re-scan of a card already scanned in the session (under any of its
   * numbers), or of the same unknown number, records nothing and returns the first scan with
   * `duplicate`. `openTransfer` is called for a card of another venue before the scan is written,
   * so the scan keeps the task's id. Refused on a closed session.
   */
  async scan(
    s: ReconciliationSession,
    input: { scanned: string; place: string },
    userName: string,
    effects: { openTransfer: (card: { cardId: string; venueId: string; bookingNumber: string | null }) => Promise<string>; setPlace: (cardId: string) => Promise<void> },
  ): Promise<{ scan: ScanRecord; duplicate: boolean }> {
    const card = await this.resolve(input.scanned);
    const previous = async () => {
      const [r] = await this.run(
        card ? `select * from reconciliation_scan where session_id = ? and card_id = ?` : `select * from reconciliation_scan where session_id = ? and card_id is null and scanned = ?`,
        [s.id, card ? card.cardId : input.scanned],
      );
      return r ? scan(r) : undefined;
    };
    const isOpen = async () => (await this.run(`select 1 from reconciliation_session where id = ? and closed_at is null`, [s.id])).length > 0;
    if (!(await isOpen())) throw closedError(s.id);
    const before = await previous();
    if (before) return { scan: before, duplicate: true };

    let outcome: ScanOutcome = 'unexpected';
    if (card && card.venueId === s.venueId && isKept(card.state, card.heldFrom)) outcome = 'found';
    else if (card && card.venueId !== null && card.venueId !== s.venueId && isKept(card.state, card.heldFrom, TRANSFERABLE)) outcome = 'wrong_venue';
    const taskId = outcome === 'wrong_venue' ? await effects.openTransfer({ cardId: card!.cardId, venueId: card!.venueId!, bookingNumber: card!.bookingNumber }) : null;

    // The session row is share-locked: a close waits for this insert, or this insert sees the session closed.
    const [inserted] = await this.run(
      `insert into reconciliation_scan (session_id, scanned, card_id, outcome, card_venue_id, card_state, booking_number, place, task_id, scanned_by)
       select s.id, ?, ?, ?, ?, ?, ?, ?, ?, ? from reconciliation_session s where s.id = ? and s.closed_at is null for share
       on conflict do nothing returning *`,
      [input.scanned, card?.cardId ?? null, outcome, card?.venueId ?? null, card?.state ?? null, card?.bookingNumber?.slice(0, 20) ?? null, input.place, taskId, userName, s.id],
    );
    if (!inserted) {
      if (!(await isOpen())) throw closedError(s.id);
      const first = await previous();
      if (first) return { scan: first, duplicate: true };
      throw closedError(s.id);
    }
    if (outcome === 'found') await effects.setPlace(card!.cardId);
    return { scan: scan(inserted), duplicate: false };
  }

  /** The session's scans, newest first (all of them when `limit` is not given). */
  async scans(sessionId: string, outcome?: ScanOutcome, limit?: number): Promise<ScanRecord[]> {
    const rows = await this.run(
      `select * from reconciliation_scan where session_id = ? ${outcome ? 'and outcome = ?' : ''} order by id desc ${limit ? 'limit ?' : ''}`,
      [sessionId, ...(outcome ? [outcome] : []), ...(limit ? [limit] : [])],
    );
    return rows.map(scan);
  }

  /** The cards in the data at the venue that the session has not found: live while open, as frozen at the close after. */
  async missing(s: ReconciliationSession, scope: VenueScope, limit?: number): Promise<MissingCard[]> {
    const lim = limit ? 'limit ?' : '';
    const rows = s.closedAt
      ? await this.run(`select card_id, card_state as state, booking_number, place from reconciliation_missing where session_id = ? order by card_id ${lim}`, [s.id, ...(limit ? [limit] : [])])
      : await this.run(...this.liveMissingSql(s, scope, limit));
    return rows.map((r) => ({ cardId: r.card_id, state: r.state, bookingNumber: r.booking_number, place: r.place }));
  }

  private liveMissingSql(s: ReconciliationSession, scope: VenueScope, limit?: number): [string, unknown[]] {
    const v = scope.sql('c.venue_id');
    return [
      `select c.card_id, c.state, coalesce((select bn.number from booking_number bn where bn.card_id = c.card_id), c.booking_number) as booking_number, st.place
         from card c left join card_storage st on st.card_id = c.card_id and st.venue_id = c.venue_id
        where c.venue_id = ? and ${KEPT_SQL} and ${v.sql}
          and not exists (select 1 from reconciliation_scan r where r.session_id = ? and r.card_id = c.card_id)
        order by c.card_id ${limit ? 'limit ?' : ''}`,
      [s.venueId, ...KEPT_STATES, ...KEPT_STATES, ...v.params, s.id, ...(limit ? [limit] : [])],
    ];
  }

  async counts(s: ReconciliationSession, scope: VenueScope): Promise<SessionCounts> {
    const [byOutcome] = await this.run(
      `select count(*) filter (where outcome = 'found')::int as found, count(*) filter (where outcome = 'unexpected')::int as unexpected,
              count(*) filter (where outcome = 'wrong_venue')::int as wrong_venue
         from reconciliation_scan where session_id = ?`,
      [s.id],
    );
    let missing: number;
    if (s.closedAt) {
      missing = (await this.run<{ n: number }>(`select count(*)::int n from reconciliation_missing where session_id = ?`, [s.id]))[0].n;
    } else {
      const [sql, params] = this.liveMissingSql(s, scope);
      missing = (await this.run<{ n: number }>(`select count(*)::int n from (${sql}) m`, params))[0].n;
    }
    return { found: byOutcome.found, missing, unexpected: byOutcome.unexpected, wrongVenue: byOutcome.wrong_venue };
  }

  /**
   * Closes the session with the names of both vendors' staff and freezes its missing cards. The
   * session row is locked first, so no scan is written between the missing list and the close.
   */
  async close(s: ReconciliationSession, scope: VenueScope, names: { previousVendorStaff: string; ourStaff: string }, userName: string): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      const [locked] = await tx.execute<Row[]>(`select closed_at from reconciliation_session where id = ? for update`, [s.id]);
      if (!locked || locked.closed_at) throw closedError(s.id);
      const [sql, params] = this.liveMissingSql(s, scope);
      await tx.execute(`insert into reconciliation_missing (session_id, card_id, card_state, booking_number, place) select ?, m.card_id, m.state, m.booking_number, m.place from (${sql}) m`, [s.id, ...params]);
      await tx.execute(`update reconciliation_session set closed_at = now(), closed_by = ?, previous_vendor_staff = ?, our_staff = ? where id = ?`, [userName, names.previousVendorStaff, names.ourStaff, s.id]);
    });
  }
}
