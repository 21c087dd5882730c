/**
 * The call center's reads and writes: finding a caller without the booking number (R-4.2) over the
 * residents' search keys, the no-show callback list and its calls (R-4.6), and the open reissue
 * requests on the office's list (R-4.4). Every read of the read model takes a VenueScope.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { VenueScope } from '../cards/venue-scope.js';
import type { Booking, CardStateName, ProposalKind } from '../../workflows/card-state-machine.js';

/** At most this many residents are shown for one search; more asks the caller for another detail. */
export const SEARCH_LIMIT = 50;
/** At most this many cards are shown on a callback list. */
export const CALLBACK_LIMIT = 200;

export const CALL_OUTCOMES = ['booked', 'declined', 'no_answer', 'unreachable', 'ask_ward', 'ward_call', 'ward_no_call'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];
export const CALL_OUTCOME_LABELS: Record<CallOutcome, string> = {
  booked: '通話済・予約した',
  declined: '通話済・予約しない',
  no_answer: '不在',
  unreachable: '番号不通',
  ask_ward: '区に確認',
  ward_call: '区確認済・架電してよい',
  ward_no_call: '区確認済・架電しない',
};
/** Outcomes the call center records; the ward answers an "ask the ward" case with its own two. */
export const CALLCENTER_OUTCOMES: readonly CallOutcome[] = ['booked', 'declined', 'no_answer', 'unreachable', 'ask_ward'];
export const WARD_OUTCOMES: readonly CallOutcome[] = ['ward_call', 'ward_no_call'];
/** After these the card leaves both lists (a new no-show starts again only with a new call). */
const CLOSED_OUTCOMES: readonly CallOutcome[] = ['booked', 'declined', 'ward_no_call'];

export interface SearchCriteria {
  /** Prefix of the kana key, or of the name key (one of them). */
  kana?: string;
  name?: string;
  birthDate?: string;
  phone?: string;
  /** Part of the address key. */
  address?: string;
}

export interface CallerRow {
  cardId: string;
  state: CardStateName;
  venueId: string | null;
  bookingNumber: string | null;
  booking: Booking | null;
  proposals: ProposalKind[];
  name: string;
  nameKana: string;
  birthDate: string;
  postalCode: string;
  address: string;
  phone: string | null;
}

export interface CallbackRow extends CallerRow {
  lastOutcome: CallOutcome | null;
  lastCalledAt: Date | null;
  calls: number;
  /** Why the case goes to the ward (empty: call it). */
  unclear: string[];
}

export interface CallRow {
  id: string;
  outcome: CallOutcome;
  note: string | null;
  calledBy: string;
  role: string;
  calledAt: Date;
}

export interface ReissueRow {
  taskId: string;
  cardId: string;
  note: string | null;
  createdBy: string;
  createdAt: Date;
  state: CardStateName;
  name: string;
  nameKana: string;
  address: string;
  /** The mail batch the reissued notice waits in, if any (issue 10). */
  batchId: string | null;
}

type Row = Record<string, any>;

const like = (v: string) => v.replace(/[\\%_]/g, (m) => `\\${m}`);

const CALLER_COLUMNS = `c.card_id, c.state, c.venue_id, c.booking_number, c.snapshot->'booking' as booking, c.proposal_kinds,
  r.name, r.name_kana, to_char(r.birth_date, 'YYYY-MM-DD') as birth_date, r.postal_code, r.address, r.phone`;

const caller = (r: Row): CallerRow => ({
  cardId: r.card_id,
  state: r.state,
  venueId: r.venue_id,
  bookingNumber: r.booking_number,
  booking: r.booking ?? null,
  proposals: r.proposal_kinds ?? [],
  name: r.name,
  nameKana: r.name_kana,
  birthDate: r.birth_date,
  postalCode: r.postal_code,
  address: r.address,
  phone: r.phone,
});

@Injectable()
export class CallCenterRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Residents matching every given criterion, by kana then birth date; at most SEARCH_LIMIT + 1 rows
   * (one more says "too many", and then which ones is of no matter). Names match by prefix (btree, text_pattern_ops), the address by a
   * part of it (pg_trgm), phone digits and the birth date exactly.
   */
  async search(scope: VenueScope, q: SearchCriteria): Promise<CallerRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]) => {
      where.push(sql);
      params.push(...values);
    };
    const v = scope.sql('c.venue_id');
    add(v.sql, ...v.params);
    if (q.kana) add(`r.search_kana like ?`, `${like(q.kana)}%`);
    if (q.name) add(`r.search_name like ?`, `${like(q.name)}%`);
    if (q.birthDate) add(`r.birth_date = ?::date`, q.birthDate);
    if (q.phone) add(`r.search_phone = ?`, q.phone);
    if (q.address) add(`r.search_address like ?`, `%${like(q.address)}%`);
    const rows = await this.em.fork().execute<Row[]>(
      // No order in SQL: with more than SEARCH_LIMIT matches nobody is shown, so the scan stops at
      // SEARCH_LIMIT + 1 rows instead of sorting every match (a common surname matches thousands).
      `select ${CALLER_COLUMNS}, r.search_kana from card_resident r join card c on c.card_id = r.card_id
        where ${where.join(' and ')} limit ${SEARCH_LIMIT + 1}`,
      params,
    );
    const order = (r: Row) => [r.search_kana ?? '', r.birth_date, r.card_id].join('\u0000');
    return rows.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0)).map(caller);
  }

  /**
   * The no-show callback list: cards in the scope whose resident gave a phone number and did
   * not come (state no_show, or a no_show proposal open on the booking), never cards in
   * documents_missing or removed, nor cards ever removed from the register. A case is unclear (the
   * ward's list) when the card once had documents missing, has a discard or expiry proposal open, or
   * the last call asked the ward; the ward's "call" answer puts it back on the call list. Cards whose
   * last call booked, was declined or the ward said not to call leave both lists.
   */
  async callbacks(scope: VenueScope): Promise<CallbackRow[]> {
    const v = scope.sql('c.venue_id');
    const rows = await this.em.fork().execute<Row[]>(
      `select ${CALLER_COLUMNS}, last.outcome as last_outcome, last.called_at as last_called_at, coalesce(n.calls, 0)::int as calls,
              exists (select 1 from card_event e where e.card_id = c.card_id and e.type = 'mark_documents_missing') as had_documents_missing
         from card c join card_resident r on r.card_id = c.card_id
         left join lateral (select k.outcome, k.called_at from callback_call k where k.card_id = c.card_id order by k.called_at desc, k.id desc limit 1) last on true
         left join lateral (select count(*) as calls from callback_call k where k.card_id = c.card_id) n on true
        where c.state in ('no_show', 'reserved') and (c.state = 'no_show' or 'no_show' = any(c.proposal_kinds))
          and coalesce(r.search_phone, '') <> '' and ${v.sql}
          and not exists (select 1 from card_event e where e.card_id = c.card_id and e.type = 'mark_removed')
          and (last.outcome is null or last.outcome not in (${CLOSED_OUTCOMES.map(() => '?').join(', ')}))
        order by last.called_at nulls first, c.updated_at, c.card_id
        limit ${CALLBACK_LIMIT + 1}`,
      [...v.params, ...CLOSED_OUTCOMES],
    );
    return rows.map((r) => {
      const proposals: ProposalKind[] = r.proposal_kinds ?? [];
      const unclear: string[] = [];
      if (r.last_outcome !== 'ward_call') {
        if (r.had_documents_missing) unclear.push('以前に書類不備で交付できなかったカード');
        if (proposals.includes('discard')) unclear.push('廃棄の提案が出ている');
        if (proposals.includes('expiry')) unclear.push('有効期限切れの提案が出ている');
        if (r.last_outcome === 'ask_ward') unclear.push('前回の架電で区に確認とした');
      }
      return { ...caller(r), lastOutcome: r.last_outcome, lastCalledAt: r.last_called_at ? new Date(r.last_called_at) : null, calls: r.calls, unclear };
    });
  }

  async recordCall(call: { cardId: string; outcome: CallOutcome; note?: string; calledBy: string; role: string }): Promise<void> {
    await this.em
      .fork()
      .execute(`insert into callback_call (card_id, outcome, note, called_by, role) values (?, ?, ?, ?, ?)`, [call.cardId, call.outcome, call.note || null, call.calledBy, call.role]);
  }

  /** The calls made about one card, newest first. */
  async calls(scope: VenueScope, cardId: string): Promise<CallRow[]> {
    const v = scope.sql('c.venue_id');
    const rows = await this.em.fork().execute<Row[]>(
      `select k.id::text as id, k.outcome, k.note, k.called_by, k.role, k.called_at from callback_call k join card c on c.card_id = k.card_id
        where k.card_id = ? and ${v.sql} order by k.called_at desc, k.id desc limit 100`,
      [cardId, ...v.params],
    );
    return rows.map((r) => ({ id: r.id, outcome: r.outcome, note: r.note, calledBy: r.called_by, role: r.role, calledAt: new Date(r.called_at) }));
  }

  /** Open reissue requests on the office's list (tasks of kind `reissue`), oldest first. */
  async openReissues(scope: VenueScope, limit = 200): Promise<ReissueRow[]> {
    const v = scope.sql('c.venue_id');
    const rows = await this.em.fork().execute<Row[]>(
      `select t.id::text as task_id, t.card_id, t.note, t.created_by, t.created_at, c.state, r.name, r.name_kana, r.address,
              (select i.batch_id from mail_batch_item i where i.reissue_task_id = t.id and i.pulled_out_at is null and i.mailed_at is null limit 1) as batch_id
         from task t join card c on c.card_id = t.card_id join card_resident r on r.card_id = t.card_id
        where t.kind = 'reissue' and t.status = 'open' and t.venue_id is null and ${v.sql}
        order by t.created_at, t.id limit ${Number(limit)}`,
      v.params,
    );
    return rows.map((r) => ({
      taskId: r.task_id,
      cardId: r.card_id,
      note: r.note,
      createdBy: r.created_by,
      createdAt: new Date(r.created_at),
      state: r.state,
      name: r.name,
      nameKana: r.name_kana,
      address: r.address,
      batchId: r.batch_id ?? null,
    }));
  }
}
