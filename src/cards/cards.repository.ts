/** Every read and write of the card read model (PostgreSQL). The workflow's projection writes the card rows. */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { type CardEvent, type CardSnapshot, type CardStateName, type Route, STATE_LABELS } from '../../workflows/card-state-machine.js';
import { cardValues, eventValues } from './card-projection-sql.js';
import type { CardInput, SearchQuery, SortKey } from './card.dto.js';
import { CardsErrorCode, CardsException } from './cards.exception.js';
import type { VenueScope } from './venue-scope.js';
import { residentKeys } from '../callcenter/search-keys.js';

export interface ResidentView {
  name: string;
  nameKana: string;
  birthDate: string;
  postalCode: string;
  address: string;
  alphabetName: string | null;
  commonName: string | null;
  nameCategory: string;
  phone: string | null;
  nationality: string | null;
  residencePeriodEnd: string | null;
}

export interface CardView {
  cardId: string;
  route: Route;
  state: CardStateName;
  stateLabel: string;
  venueId: string | null;
  late: boolean;
  proposals: string[];
  receivedAt: string;
  noticeMailedAt: string | null;
  renoticedAt: string | null;
  issuedAt: string | null;
  closedAt: string | null;
  expiresOn: string | null;
  bookingNumber: string | null;
  /** The booked slot while the card is reserved (from its snapshot): staff pages show it beside the number. */
  booking: { bookingNumber: string; venueId: string; startsAt: string; endsAt: string } | null;
  updatedAt: string;
  resident: ResidentView;
}

export interface CardEventView {
  seq: number;
  type: string;
  fromState: string;
  toState: string;
  at: string;
  actor: { userId: string; role: string; channel: string };
  reason: string | null;
  data: Record<string, unknown> | null;
}

const SELECT = `select c.card_id, c.route, c.state, c.venue_id, c.late, c.proposal_kinds, c.received_at, c.notice_mailed_at,
  c.renoticed_at, c.issued_at, c.closed_at, to_char(c.expires_on, 'YYYY-MM-DD') as expires_on, c.booking_number, c.snapshot->'booking' as booking, c.updated_at,
  r.name, r.name_kana, to_char(r.birth_date, 'YYYY-MM-DD') as birth_date, r.postal_code, r.address, r.alphabet_name, r.common_name,
  r.name_category, r.phone, r.nationality, to_char(r.residence_period_end, 'YYYY-MM-DD') as residence_period_end
  from card c join card_resident r on r.card_id = c.card_id`;

type Row = Record<string, any>;

const ts = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

function toView(r: Row): CardView {
  return {
    cardId: r.card_id,
    route: r.route,
    state: r.state,
    stateLabel: STATE_LABELS[r.state as CardStateName] ?? r.state,
    venueId: r.venue_id,
    late: r.late,
    proposals: r.proposal_kinds ?? [],
    receivedAt: ts(r.received_at)!,
    noticeMailedAt: ts(r.notice_mailed_at),
    renoticedAt: ts(r.renoticed_at),
    issuedAt: ts(r.issued_at),
    closedAt: ts(r.closed_at),
    expiresOn: r.expires_on,
    bookingNumber: r.booking_number,
    booking: r.booking ?? null,
    updatedAt: ts(r.updated_at)!,
    resident: {
      name: r.name,
      nameKana: r.name_kana,
      birthDate: r.birth_date,
      postalCode: r.postal_code,
      address: r.address,
      alphabetName: r.alphabet_name,
      commonName: r.common_name,
      nameCategory: r.name_category,
      phone: r.phone,
      nationality: r.nationality,
      residencePeriodEnd: r.residence_period_end,
    },
  };
}

/** Sort keys → columns, and how a cursor value of each is compared. */
const SORT_COLUMNS: Record<SortKey, { column: string; kind: 'text' | 'timestamp' | 'date' }> = {
  cardId: { column: 'c.card_id', kind: 'text' },
  route: { column: 'c.route', kind: 'text' },
  state: { column: 'c.state', kind: 'text' },
  venueId: { column: 'c.venue_id', kind: 'text' },
  receivedAt: { column: 'c.received_at', kind: 'timestamp' },
  noticeMailedAt: { column: 'c.notice_mailed_at', kind: 'timestamp' },
  expiresOn: { column: 'c.expires_on', kind: 'date' },
  updatedAt: { column: 'c.updated_at', kind: 'timestamp' },
  nameKana: { column: 'r.name_kana', kind: 'text' },
};

/** Start of an ISO date in Asia/Tokyo, as an instant PostgreSQL understands. */
const tokyoStart = (date: string) => `${date}T00:00:00+09:00`;
const nextDay = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

function cursorValue(row: Row, key: SortKey): string | null {
  const col = SORT_COLUMNS[key];
  const raw = row[col.column.slice(2)];
  if (raw === null || raw === undefined) return null;
  return col.kind === 'timestamp' ? new Date(raw).toISOString() : String(raw);
}

export function encodeCursor(value: string | null, cardId: string): string {
  return Buffer.from(JSON.stringify([value, cardId])).toString('base64url');
}

const CURSOR_VALUE: Record<'text' | 'timestamp' | 'date', (v: string) => boolean> = {
  // As cursorValue writes them: ISO instants, ISO dates, and text without NUL (PostgreSQL refuses it).
  timestamp: (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(v) && !v.startsWith('0000') && !Number.isNaN(Date.parse(v)),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !v.startsWith('0000') && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString().startsWith(v),
  text: (v) => v.length <= 400 && !v.includes('\0'),
};
const CURSOR_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;

/** A cursor this API returned for this sort key, or a 400: a hand-made one never reaches the database. */
function decodeCursor(cursor: string, kind: 'text' | 'timestamp' | 'date'): [string | null, string] {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      (parsed[0] === null || (typeof parsed[0] === 'string' && CURSOR_VALUE[kind](parsed[0]))) &&
      typeof parsed[1] === 'string' &&
      CURSOR_ID.test(parsed[1])
    ) {
      return parsed as [string | null, string];
    }
  } catch {
    // fall through
  }
  throw new CardsException(CardsErrorCode.BAD_CURSOR, 'the cursor is not one this API returned');
}

/** The card row's columns as `cardValues` gives them, in order. */
const CARD_COLUMNS = ['card_id', 'route', 'state', 'seq', 'venue_id', 'late', 'proposal_kinds', 'received_at', 'notice_mailed_at', 'renoticed_at', 'issued_at', 'closed_at', 'expires_on'] as const;
/** The event's columns as `eventValues` gives them, in order. */
const EVENT_COLUMNS = ['card_id', 'seq', 'type', 'from_state', 'to_state', 'at', 'actor_user', 'actor_role', 'channel', 'reason', 'data'] as const;

/**
 * The outbox's insert (`card_start_pending`) from one JSON parameter of `{ card_id, args }` rows and
 * the task queue before it; `where` narrows the rows (the registration: only the cards it inserted).
 */
const outboxInsert = (where = '') =>
  `insert into card_start_pending (card_id, task_queue, args)
   select x.card_id, ?, x.args from jsonb_to_recordset(?::jsonb) as x(card_id text, args jsonb) ${where}
   on conflict (card_id) do nothing`;

/** The residents' insert for a batch (an existing card's resident is never overwritten). */
function residentsInsert(cards: readonly CardInput[]): { sql: string; params: unknown[] } {
  const row = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  const params = cards.flatMap((c) => [
    ...((k) => [k.searchName, k.searchKana, k.searchAddress, k.searchPhone])(residentKeys(c.resident)),
    c.cardId,
    c.resident.name,
    c.resident.nameKana,
    c.resident.alphabetName ?? null,
    c.resident.commonName ?? null,
    c.resident.nameCategory,
    c.resident.birthDate,
    c.resident.postalCode.replace('-', '').replace(/^(\d{3})(\d{4})$/, '$1-$2'),
    c.resident.address,
    c.resident.phone ?? null,
    c.resident.nationality ?? null,
    c.resident.residencePeriodEnd ?? null,
    new Date().toISOString(),
  ]);
  return {
    sql: `insert into card_resident (search_name, search_kana, search_address, search_phone, card_id, name, name_kana, alphabet_name, common_name, name_category, birth_date, postal_code,
         address, phone, nationality, residence_period_end, created_at)
       values ${cards.map(() => row).join(', ')} on conflict (card_id) do nothing`,
    params,
  };
}

@Injectable()
export class CardsRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Which of these cards are registered: the read model holds them and their workflows are started
   * (no start owed), in one query for the whole batch. Unscoped: registration waits for its own
   * cards, whatever their venue.
   */
  async readable(cardIds: string[]): Promise<Set<string>> {
    if (cardIds.length === 0) return new Set();
    // Card ids are [A-Za-z0-9-] (the request's schema): safe inside an array literal. A card whose
    // start is still owed (its outbox row) can be read but not acted on yet: not counted.
    const rows = await this.em.fork().execute<Row[]>(
      `select card_id from card c where card_id = any(?::text[]) and not exists (select 1 from card_start_pending p where p.card_id = c.card_id)`,
      [`{${cardIds.join(',')}}`],
    );
    return new Set(rows.map((r) => r.card_id));
  }

  /** Stores the residents of new cards; an existing card's data is never overwritten. */
  async insertResidents(cards: CardInput[]): Promise<void> {
    if (cards.length === 0) return;
    const { sql, params } = residentsInsert(cards);
    await this.em.fork().execute(sql, params);
  }

  /**
   * A registration batch in one statement (one round trip): the residents, and for each card not
   * registered before its first projection (its row and its `registered` event, the SQL and values
   * the workflow's projection uses) and its start (`card_start_pending`, the outbox: the workflow's
   * input and task queue, for a worker of that queue to start; `CardStarter`). Then a notification
   * on `card_start` wakes the starters. An existing card is left exactly as it is. Answers the ids
   * inserted. Raw SQL: four inserts in one statement (data-modifying WITH clauses run once, all or
   * nothing).
   */
  async insertRegistrations(taskQueue: string, batch: readonly { input: CardInput; first: { card: CardSnapshot; events: CardEvent[] }; args: unknown }[]): Promise<Set<string>> {
    if (batch.length === 0) return new Set();
    const residents = residentsInsert(batch.map((b) => b.input));
    return this.writeFirstProjections(taskQueue, batch, residents);
  }

  /**
   * The same for cards whose residents are stored already (the hand-over import's plain migrated
   * cards): their first projections and their starts, in one statement. A legacy booking number is
   * read from `booking_number` (stored by the import before).
   */
  insertFirstProjections(taskQueue: string, batch: readonly { first: { card: CardSnapshot; events: CardEvent[] }; args: unknown }[]): Promise<Set<string>> {
    if (batch.length === 0) return Promise.resolve(new Set());
    return this.writeFirstProjections(taskQueue, batch);
  }

  private async writeFirstProjections(
    taskQueue: string,
    batch: readonly { first: { card: CardSnapshot; events: CardEvent[] }; args: unknown }[],
    residents?: { sql: string; params: unknown[] },
  ): Promise<Set<string>> {
    const cards = batch.map(({ first: { card } }) => {
      const v = cardValues(card);
      return { ...Object.fromEntries(CARD_COLUMNS.map((c, i) => [c, v[i]])), snapshot: card };
    });
    const events = batch.flatMap(({ first: { card, events } }) =>
      events.map((e) => {
        const v = eventValues(card.cardId, [e]);
        return { ...Object.fromEntries(EVENT_COLUMNS.map((c, i) => [c, v[i]])), data: e.data ?? null };
      }),
    );
    const starts = batch.map((b) => ({ card_id: b.first.card.cardId, args: b.args }));
    const rows = await this.em.fork().execute<{ card_id: string }[]>(
      `with ${residents ? `residents as (${residents.sql} returning 1),` : ''}
         cards as (
           insert into card (${CARD_COLUMNS.join(', ')}, booking_number, snapshot, updated_at)
           select ${CARD_COLUMNS.map((c) => (c === 'proposal_kinds' ? 'proposal_kinds::text[]' : c)).join(', ')},
                  (select number from booking_number n where n.card_id = x.card_id), snapshot, now()
             from jsonb_to_recordset(?::jsonb) as x(card_id text, route text, state text, seq int, venue_id text, late boolean, proposal_kinds text,
               received_at timestamptz, notice_mailed_at timestamptz, renoticed_at timestamptz, issued_at timestamptz, closed_at timestamptz, expires_on date, snapshot jsonb)
           on conflict (card_id) do nothing
           returning card_id),
         events as (
           insert into card_event (${EVENT_COLUMNS.join(', ')})
           select x.* from jsonb_to_recordset(?::jsonb) as x(card_id text, seq int, type text, from_state text, to_state text, at timestamptz,
               actor_user text, actor_role text, channel text, reason text, data jsonb)
            where x.card_id in (select card_id from cards)
           on conflict (card_id, seq) do nothing
           returning 1),
         starts as (${outboxInsert('where x.card_id in (select card_id from cards)')} returning 1)
       select card_id from cards`,
      [...(residents?.params ?? []), JSON.stringify(cards), JSON.stringify(events), taskQueue, JSON.stringify(starts)],
    );
    if (rows.length > 0) await this.wakeStarters(taskQueue);
    return new Set(rows.map((r) => r.card_id));
  }

  /**
   * Puts starts in the outbox (`card_start_pending`) for the workers of `taskQueue`, the cards'
   * residents already stored (the hand-over import: its cards' first projections are their
   * workflows' own); a start already there is kept. Then wakes the starters.
   */
  async enqueueStarts(taskQueue: string, starts: readonly { cardId: string; args: unknown }[]): Promise<void> {
    for (let i = 0; i < starts.length; i += 1000) {
      const part = starts.slice(i, i + 1000).map((x) => ({ card_id: x.cardId, args: x.args }));
      await this.em.fork().execute(outboxInsert(), [taskQueue, JSON.stringify(part)]);
    }
    if (starts.length > 0) await this.wakeStarters(taskQueue);
  }

  /** Wakes the worker processes' starters of this task queue (`CardStarter` listens on `card_start`). */
  private async wakeStarters(taskQueue: string): Promise<void> {
    await this.em.fork().execute(`select pg_notify('card_start', ?)`, [taskQueue]);
  }

  async findView(scope: VenueScope, cardId: string): Promise<{ view: CardView; snapshot: CardSnapshot } | undefined> {
    const v = scope.sql('c.venue_id');
    const rows = await this.em.fork().execute<Row[]>(`${SELECT.replace('select ', 'select c.snapshot, ')} where c.card_id = ? and ${v.sql}`, [cardId, ...v.params]);
    return rows[0] ? { view: toView(rows[0]), snapshot: rows[0].snapshot as CardSnapshot } : undefined;
  }

  /** Whether the card is registered (its resident is stored first); outside the scope, as if not. */
  async exists(scope: VenueScope, cardId: string): Promise<boolean> {
    const v = scope.sql('c.venue_id');
    const rows = await this.em.fork().execute<Row[]>(
      `select 1 from card_resident r left join card c on c.card_id = r.card_id where r.card_id = ? and ${v.sql}`,
      [cardId, ...v.params],
    );
    return rows.length > 0;
  }

  /** Which of `cardIds` are already registered (their resident is stored first). */
  async existing(scope: VenueScope, cardIds: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const em = this.em.fork();
    const v = scope.sql('c.venue_id');
    for (let i = 0; i < cardIds.length; i += 1000) {
      const chunk = cardIds.slice(i, i + 1000);
      const rows = await em.execute<Row[]>(
        `select r.card_id from card_resident r left join card c on c.card_id = r.card_id where r.card_id in (${chunk.map(() => '?').join(', ')}) and ${v.sql}`,
        [...chunk, ...v.params],
      );
      for (const r of rows) found.add(r.card_id);
    }
    return found;
  }

  async events(scope: VenueScope, cardId: string): Promise<CardEventView[]> {
    const v = scope.sql('c.venue_id');
    const rows = await this.em.fork().execute<Row[]>(
      `select e.seq, e.type, e.from_state, e.to_state, e.at, e.actor_user, e.actor_role, e.channel, e.reason, e.data from card_event e
       ${scope.restricted ? `join card c on c.card_id = e.card_id and ${v.sql}` : ''} where e.card_id = ? order by e.seq`,
      [...v.params, cardId],
    );
    return rows.map((r) => ({
      seq: r.seq,
      type: r.type,
      fromState: r.from_state,
      toState: r.to_state,
      at: ts(r.at)!,
      actor: { userId: r.actor_user, role: r.actor_role, channel: r.channel },
      reason: r.reason,
      data: r.data,
    }));
  }

  /** Keyset-paginated search: stable under concurrent writes, constant cost per page however deep. */
  async search(scope: VenueScope, q: SearchQuery): Promise<{ items: CardView[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]) => {
      where.push(sql);
      params.push(...values);
    };
    if (scope.restricted) {
      const v = scope.sql('c.venue_id');
      add(v.sql, ...v.params);
    }
    if (q.route) add(`c.route in (${q.route.map(() => '?').join(', ')})`, ...q.route);
    if (q.state) add(`c.state in (${q.state.map(() => '?').join(', ')})`, ...q.state);
    if (q.venue) add(`c.venue_id in (${q.venue.map(() => '?').join(', ')})`, ...q.venue);
    if (q.noticeMailedFrom) add(`c.notice_mailed_at >= ?`, tokyoStart(q.noticeMailedFrom));
    if (q.noticeMailedTo) add(`c.notice_mailed_at < ?`, tokyoStart(nextDay(q.noticeMailedTo)));
    if (q.receivedFrom) add(`c.received_at >= ?`, tokyoStart(q.receivedFrom));
    if (q.receivedTo) add(`c.received_at < ?`, tokyoStart(nextDay(q.receivedTo)));
    if (q.expiresFrom) add(`c.expires_on >= ?`, q.expiresFrom);
    if (q.expiresTo) add(`c.expires_on <= ?`, q.expiresTo);
    if (q.nameKana) add(`r.name_kana like ?`, `${q.nameKana.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
    if (q.bookingNumber) add(`c.booking_number = ?`, q.bookingNumber);
    if (q.late !== undefined) add(`c.late = ?`, q.late);
    if (q.proposal === 'any') add(`cardinality(c.proposal_kinds) > 0`);
    else if (q.proposal === 'none') add(`cardinality(c.proposal_kinds) = 0`);
    else if (q.proposal) add(`? = any(c.proposal_kinds)`, q.proposal);

    const desc = q.sort.startsWith('-');
    const key = (desc ? q.sort.slice(1) : q.sort) as SortKey;
    const { column, kind } = SORT_COLUMNS[key];
    const cast = kind === 'timestamp' ? '::timestamptz' : kind === 'date' ? '::date' : '';
    if (q.cursor) {
      const [value, id] = decodeCursor(q.cursor, kind);
      // PostgreSQL puts nulls last ascending and first descending; the cursor follows that order.
      if (key === 'cardId') add(desc ? `c.card_id < ?` : `c.card_id > ?`, id);
      else if (!desc && value !== null) add(`((${column}, c.card_id) > (?${cast}, ?) or ${column} is null)`, value, id);
      else if (!desc) add(`(${column} is null and c.card_id > ?)`, id);
      else if (value !== null) add(`(${column}, c.card_id) < (?${cast}, ?)`, value, id);
      else add(`((${column} is null and c.card_id < ?) or ${column} is not null)`, id);
    }
    const dir = desc ? 'desc' : 'asc';
    const order = key === 'cardId' ? `c.card_id ${dir}` : `${column} ${dir}, c.card_id ${dir}`;
    const sql = `${SELECT} ${where.length ? `where ${where.join(' and ')}` : ''} order by ${order} limit ${q.limit + 1}`;
    const rows = await this.em.fork().execute<Row[]>(sql, params, 'all');
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toView),
      nextCursor: rows.length > q.limit && last ? encodeCursor(cursorValue(last, key), last.card_id) : null,
    };
  }
}
