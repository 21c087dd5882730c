/**
 * The hand-over import (R-11.1, R-11.2): the dry run (every row imported or refused, with the field
 * and the reason) and the real run, which turns each row into a live card workflow in its mapped
 * state. The workflow id is the card's (`card-<id>`), so a re-run starts nothing new; each row's
 * outcome is recorded in `migration_row` (the run is keyed by the file's and the mapping's SHA-256),
 * so an interrupted run resumes where it stopped. Rows go in bounded parallel batches, as
 * registration does: residents, the legacy booking number and the slot of a booking still ahead,
 * then the workflow starts, then a wait until the read model holds the batch.
 *
 * Used by the CLI (`migrate legacy`) and the office page (`/migration`); no Nest dependency.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { WardConfig } from '../config/ward-config.js';
import { CardsRepository } from '../cards/cards.repository.js';
import type { CardInput } from '../cards/card.dto.js';
import type { EraTable } from '../printing/japanese-era.js';
import { type CardWorkflowInput, PATCHES_AT_START } from '../../workflows/card-messages.js';
import { type Actor, type ActorRole, type Booking, type Transition, migrate } from '../../workflows/card-state-machine.js';
import { plainMigratedProjection } from '../cards/card-projection-sql.js';
import { withDueTimers } from '../../workflows/card-timers.js';
import { type GaijiTable, parseGaijiTable } from './gaiji.js';
import { type Mapping, parseMapping } from './mapping.js';
import { type LegacyRecord, type ParseReport, type RowOutcome, parseExport } from './parser.js';

export interface MigrationFiles {
  fileName: string;
  export: Uint8Array;
  mapping: Uint8Array;
  gaiji?: Uint8Array;
}

/** The files read and parsed (MappingError / GaijiTableError are thrown for a bad mapping or table). */
export interface Prepared {
  fileName: string;
  fileSha256: string;
  mappingSha256: string;
  mapping: Mapping;
  report: ParseReport;
}

export type RowStatus = 'import' | 'imported' | 'refused';

/** One row of the dry run or of a run's report: what happens (or happened) to it. */
export interface RowResult {
  row: number;
  cardId?: string;
  /** `import`: it would be imported (dry run); `imported`: it is a live card (this or an earlier run). */
  status: RowStatus;
  field?: string;
  reason?: string;
  /** Characters to write by hand on the card. */
  handwriting: number;
}

export interface DryRun {
  vendor: string;
  fileName: string;
  fileErrors: string[];
  rows: RowResult[];
  total: number;
  toImport: number;
  alreadyImported: number;
  refused: number;
}

export interface RunProgress {
  runId: string;
  vendor: string;
  fileName: string;
  status: 'running' | 'done' | 'stopped' | 'failed';
  total: number;
  imported: number;
  existed: number;
  refused: number;
  pending: number;
  startedAt: string;
  finishedAt: string | null;
}

export interface RunOptions {
  /** Rows per batch (residents, numbers and slots in one go; then the starts). */
  batchSize?: number;
  /** Batches in flight at once. */
  parallelBatches?: number;
  /** Test hook: stop once this many rows have been handled in this call (an interrupted run). */
  stopAfter?: number;
  /** Called after each batch with the run's counts. */
  onProgress?: (p: { done: number; total: number; imported: number; existed: number; refused: number }) => void;
  /** How long to wait for a batch's cards to become readable. */
  readableWaitMs?: number;
}

export interface MigrationDeps {
  em: EntityManager;
  ward: WardConfig;
  eras: EraTable;
  taskQueue: string;
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

type Check = { refuse: { field: string; reason: string } } | { imported: true } | { ok: true; endsAt?: string };

/** The actor of migrated cards' first event: the user who ran it, on the `migration` channel. */
export function migrationActor(user: { username: string; role: string }): Actor {
  const role: ActorRole = user.role === 'office' || user.role === 'ward' ? user.role : 'system';
  return { userId: user.username.slice(0, 100), role, channel: 'migration' };
}

const idArray = (ids: string[]) => `{${ids.map((id) => `"${id.replace(/["\\]/g, '')}"`).join(',')}}`;

export class MigrationService {
  private readonly cards: CardsRepository;

  constructor(private readonly deps: MigrationDeps) {
    this.cards = new CardsRepository(deps.em);
  }

  /** Reads the mapping, the 外字 table and the export; no database. */
  prepare(files: MigrationFiles): Prepared {
    const mapping = parseMapping(files.mapping);
    const gaiji: GaijiTable = files.gaiji ? parseGaijiTable(files.gaiji) : new Map();
    const report = parseExport(files.export, {
      mapping,
      gaiji,
      eras: this.deps.eras,
      venueForPostalCode: (p) => this.deps.ward.venueForPostalCode(p),
      venueIds: this.deps.ward.venues.map((v) => v.id),
    });
    return {
      fileName: files.fileName.replace(/[^\p{L}\p{N}._ -]/gu, '_').slice(0, 200) || 'export.csv',
      fileSha256: sha256(files.export),
      // The run is the file's with this mapping and 外字 table.
      mappingSha256: sha256(Buffer.concat([files.mapping, Buffer.from('\0'), files.gaiji ?? new Uint8Array()])),
      mapping,
      report,
    };
  }

  /**
   * The checks against what the system already holds, for the rows the file itself accepts: a card
   * id already registered (other than by this import), a booking number another card holds, a
   * booking ahead whose slot does not exist, is closed or has too few free places.
   */
  private async check(records: LegacyRecord[]): Promise<Map<number, Check>> {
    const em = this.deps.em.fork();
    const out = new Map<number, Check>();
    const ids = records.map((r) => r.cardId);
    const ours = new Set<string>();
    const existing = new Set<string>();
    const imported = new Set<string>();
    for (let i = 0; i < ids.length; i += 5000) {
      const chunk = idArray(ids.slice(i, i + 5000));
      for (const r of await em.execute<{ card_id: string }[]>(`select card_id from card_resident where card_id = any(?::text[])`, [chunk])) existing.add(r.card_id);
      for (const r of await em.execute<{ card_id: string; done: boolean }[]>(
        `select card_id, bool_or(outcome in ('imported', 'existed')) as done from migration_row where card_id = any(?::text[]) and outcome <> 'refused' group by card_id`,
        [chunk],
      )) {
        ours.add(r.card_id);
        if (r.done) imported.add(r.card_id);
      }
    }
    const numbers = records.filter((r) => r.bookingNumber).map((r) => r.bookingNumber!);
    const holders = new Map<string, string | null>();
    for (let i = 0; i < numbers.length; i += 5000) {
      for (const r of await em.execute<{ number: string; card_id: string | null }[]>(`select number, card_id from booking_number where number = any(?::text[])`, [
        idArray(numbers.slice(i, i + 5000)),
      ])) {
        holders.set(r.number, r.card_id);
      }
    }
    const now = Date.now();
    const ahead = records.filter((r) => r.state === 'reserved' && r.bookingStartsAt && Date.parse(r.bookingStartsAt) > now && !imported.has(r.cardId));
    const slots = new Map<string, { free: number; endsAt: string; open: boolean }>();
    if (ahead.length) {
      const keys = [...new Set(ahead.map((r) => `${r.venueId}|${r.bookingStartsAt}`))];
      for (let i = 0; i < keys.length; i += 2000) {
        const part = keys.slice(i, i + 2000);
        const rows = await em.execute<{ venue_id: string; starts_at: Date; ends_at: Date; free: number; open: boolean }[]>(
          `select s.venue_id, s.starts_at, s.ends_at, s.capacity - s.booked as free, s.open from slot s
            join unnest(?::text[], ?::timestamptz[]) as k(venue_id, starts_at) on k.venue_id = s.venue_id and k.starts_at = s.starts_at`,
          [idArray(part.map((k) => k.split('|')[0])), `{${part.map((k) => `"${k.split('|')[1]}"`).join(',')}}`],
        );
        for (const s of rows) slots.set(`${s.venue_id}|${new Date(s.starts_at).toISOString()}`, { free: Number(s.free), endsAt: new Date(s.ends_at).toISOString(), open: s.open });
      }
    }
    // Bookings already claimed by an earlier, interrupted run of this import hold their place.
    const claimed = new Set<string>();
    if (ahead.length) {
      for (const r of await em.execute<{ card_id: string }[]>(`select card_id from booking where request_id = any(?::text[]) and status = 'booked'`, [
        idArray(ahead.map((r) => `migration-${r.cardId}`)),
      ])) {
        claimed.add(r.card_id);
      }
    }
    for (const r of records) {
      if (imported.has(r.cardId)) {
        out.set(r.row, { imported: true });
        continue;
      }
      if (existing.has(r.cardId) && !ours.has(r.cardId)) {
        out.set(r.row, { refuse: { field: 'cardId', reason: 'カード番号が既に登録されているカードと重複しています' } });
        continue;
      }
      if (r.bookingNumber && holders.has(r.bookingNumber) && holders.get(r.bookingNumber) !== r.cardId) {
        out.set(r.row, { refuse: { field: 'bookingNumber', reason: '予約番号が既に別のカードで使われています' } });
        continue;
      }
      let endsAt: string | undefined;
      if (r.state === 'reserved' && r.bookingStartsAt) {
        const key = `${r.venueId}|${r.bookingStartsAt}`;
        const slot = slots.get(key);
        endsAt = slot?.endsAt;
        if (Date.parse(r.bookingStartsAt) > now && !claimed.has(r.cardId)) {
          if (!slot || !slot.open) {
            out.set(r.row, { refuse: { field: 'bookingDate', reason: '予約の日時に会場の予約枠がありません（枠を作るか、予約を取り消してから取り込んでください）' } });
            continue;
          }
          if (slot.free <= 0) {
            out.set(r.row, { refuse: { field: 'bookingDate', reason: '予約の日時の予約枠が満員です' } });
            continue;
          }
          slot.free--;
        }
      }
      out.set(r.row, { ok: true, endsAt });
    }
    return out;
  }

  /** The dry run: every row, imported or refused, with the field and the reason. Changes nothing. */
  async dryRun(p: Prepared): Promise<DryRun> {
    const records = p.report.rows.filter((r): r is Extract<RowOutcome, { ok: true }> => r.ok).map((r) => r.record);
    const checks = await this.check(records);
    const rows: RowResult[] = p.report.rows.map((o) => {
      if (!o.ok) return { row: o.row, cardId: o.cardId, status: 'refused', field: o.field, reason: o.reason, handwriting: 0 };
      const c = checks.get(o.row)!;
      if ('refuse' in c) return { row: o.row, cardId: o.cardId, status: 'refused', ...c.refuse, handwriting: o.record.handwriting.length };
      return { row: o.row, cardId: o.cardId, status: 'imported' in c ? 'imported' : 'import', handwriting: o.record.handwriting.length };
    });
    return {
      vendor: p.mapping.vendor,
      fileName: p.fileName,
      fileErrors: p.report.fileErrors,
      rows,
      total: rows.length,
      toImport: rows.filter((r) => r.status === 'import').length,
      alreadyImported: rows.filter((r) => r.status === 'imported').length,
      refused: rows.filter((r) => r.status === 'refused').length,
    };
  }

  /** The run of this file and mapping, created on its first run (a re-run or a resume finds it). */
  async openRun(p: Prepared, user: { username: string }): Promise<string> {
    const em = this.deps.em.fork();
    const [run] = await em.execute<{ id: string }[]>(
      `insert into migration_run (vendor, file_name, file_sha256, mapping_sha256, total, started_by)
       values (?, ?, ?, ?, ?, ?)
       on conflict (file_sha256, mapping_sha256) do update set status = 'running', heartbeat_at = now(), finished_at = null, total = excluded.total
       returning id`,
      [p.mapping.vendor, p.fileName, p.fileSha256, p.mappingSha256, p.report.rows.length, user.username.slice(0, 100)],
    );
    return String(run.id);
  }

  /**
   * The real run. Rows already imported (by this or an earlier run) are skipped; rows refused are
   * recorded with their reason; the others become live cards. Answers the run's progress at the end.
   */
  async run(p: Prepared, user: { username: string; role: string }, opts: RunOptions = {}, runId?: string): Promise<RunProgress> {
    if (p.report.fileErrors.length) throw new Error(`the export cannot be read: ${p.report.fileErrors.join('; ')}`);
    const id = runId ?? (await this.openRun(p, user));
    const em = this.deps.em.fork();
    const done = new Map<number, string>(
      (await em.execute<{ row_no: number; outcome: string }[]>(`select row_no, outcome from migration_row where run_id = ? and outcome <> 'pending'`, [id])).map((r) => [
        Number(r.row_no),
        r.outcome,
      ]),
    );
    const todo = p.report.rows.filter((r) => !done.has(r.row));
    const actor = migrationActor(user);
    const batchSize = opts.batchSize ?? 100;
    const batches: RowOutcome[][] = [];
    for (let i = 0; i < todo.length; i += batchSize) batches.push(todo.slice(i, i + batchSize));
    let claimed = 0;
    let stopped = false;
    let next = 0;
    const counts = async () => this.progress(id);
    const worker = async () => {
      while (next < batches.length && !stopped) {
        const batch = batches[next++];
        if (opts.stopAfter !== undefined && claimed + batch.length > opts.stopAfter) {
          // The test hook: handle what fits, then stop as an interrupted process would.
          const fits = batch.slice(0, Math.max(0, opts.stopAfter - claimed));
          claimed += fits.length;
          stopped = true;
          if (fits.length) await this.runBatch(id, fits, p, actor, opts);
          break;
        }
        claimed += batch.length;
        await this.runBatch(id, batch, p, actor, opts);
        await em.execute(`update migration_run set heartbeat_at = now() where id = ?`, [id]);
        if (opts.onProgress) {
          const c = await counts();
          opts.onProgress({ done: c.imported + c.existed + c.refused, total: c.total, imported: c.imported, existed: c.existed, refused: c.refused });
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(opts.parallelBatches ?? 4, Math.max(1, batches.length)) }, worker));
    } catch (e) {
      await em.execute(`update migration_run set status = 'failed', finished_at = now() where id = ?`, [id]);
      throw e;
    }
    await em.execute(`update migration_run set status = ?, finished_at = now(), heartbeat_at = now() where id = ?`, [stopped ? 'stopped' : 'done', id]);
    return counts();
  }

  private async runBatch(runId: string, batch: RowOutcome[], p: Prepared, actor: Actor, opts: RunOptions): Promise<void> {
    const em = this.deps.em.fork();
    const outcome = new Map<number, { outcome: 'imported' | 'existed' | 'refused'; cardId?: string; field?: string; reason?: string }>();
    const refused = batch.filter((r): r is Extract<RowOutcome, { ok: false }> => !r.ok);
    for (const r of refused) outcome.set(r.row, { outcome: 'refused', cardId: r.cardId, field: r.field, reason: r.reason });
    const records = batch.filter((r): r is Extract<RowOutcome, { ok: true }> => r.ok).map((r) => r.record);
    const checks = await this.check(records);
    const go: { record: LegacyRecord; endsAt?: string }[] = [];
    for (const r of records) {
      const c = checks.get(r.row)!;
      if ('refuse' in c) outcome.set(r.row, { outcome: 'refused', cardId: r.cardId, ...c.refuse });
      else if ('imported' in c) outcome.set(r.row, { outcome: 'existed', cardId: r.cardId });
      else go.push({ record: r, endsAt: c.endsAt });
    }
    // Pending first: a card whose resident row exists is recognised as this import's on a resume.
    if (go.length) {
      await em.execute(
        `insert into migration_row (run_id, row_no, card_id, outcome) values ${go.map(() => '(?, ?, ?, ?)').join(', ')} on conflict (run_id, row_no) do nothing`,
        go.flatMap((g) => [runId, g.record.row, g.record.cardId, 'pending']),
      );
    }
    // Legacy booking numbers, one statement for the batch: a number another card holds refuses its row.
    const numbered = go.filter((g) => g.record.bookingNumber);
    if (numbered.length) {
      await em.execute(
        `insert into booking_number (number, card_id, source) select n, c, 'legacy' from unnest(?::text[], ?::text[]) as t(n, c) on conflict do nothing`,
        [idArray(numbered.map((g) => g.record.bookingNumber!)), idArray(numbered.map((g) => g.record.cardId))],
      );
      const held = new Map(
        (await em.execute<{ number: string; card_id: string | null }[]>(`select number, card_id from booking_number where number = any(?::text[])`, [idArray(numbered.map((g) => g.record.bookingNumber!))])).map(
          (r) => [r.number, r.card_id],
        ),
      );
      for (const g of numbered) {
        if (held.get(g.record.bookingNumber!) !== g.record.cardId) outcome.set(g.record.row, { outcome: 'refused', cardId: g.record.cardId, field: 'bookingNumber', reason: '予約番号が既に別のカードで使われています' });
      }
    }
    // The slots of bookings still ahead, one transaction per card (few: most cards are not booked).
    const ready: { record: LegacyRecord; booking?: Booking }[] = [];
    for (const g of go) {
      const r = g.record;
      if (outcome.has(r.row)) continue;
      if (r.state !== 'reserved' || !r.bookingStartsAt || !r.bookingNumber) {
        ready.push({ record: r });
        continue;
      }
      const startsAt = r.bookingStartsAt;
      if (Date.parse(startsAt) <= Date.now()) {
        // A booking whose day has passed claims nothing: the card keeps it until the no-show proposal.
        ready.push({ record: r, booking: { bookingNumber: r.bookingNumber, venueId: r.venueId, startsAt, endsAt: g.endsAt ?? new Date(Date.parse(startsAt) + 30 * 60_000).toISOString() } });
        continue;
      }
      try {
        const booking = await em.fork().transactional(async (tx) => {
          const [had] = await tx.execute<{ ends_at: Date }[]>(`select ends_at from booking where request_id = ?`, [`migration-${r.cardId}`]);
          if (had) return { bookingNumber: r.bookingNumber!, venueId: r.venueId, startsAt, endsAt: new Date(had.ends_at).toISOString() } satisfies Booking;
          const [slot] = await tx.execute<{ ends_at: Date }[]>(
            `update slot set booked = booked + 1, updated_at = now() where venue_id = ? and starts_at = ? and open and booked < capacity returning ends_at`,
            [r.venueId, startsAt],
          );
          if (!slot) throw new Refused('bookingDate', '予約の日時の予約枠が満員か、ありません');
          const endsAt = new Date(slot.ends_at).toISOString();
          await tx.execute(`insert into booking (card_id, request_id, booking_number, venue_id, starts_at, ends_at) values (?, ?, ?, ?, ?, ?)`, [
            r.cardId,
            `migration-${r.cardId}`,
            r.bookingNumber,
            r.venueId,
            startsAt,
            endsAt,
          ]);
          return { bookingNumber: r.bookingNumber!, venueId: r.venueId, startsAt, endsAt } satisfies Booking;
        });
        ready.push({ record: r, booking });
      } catch (e) {
        if (!(e instanceof Refused)) throw e;
        outcome.set(r.row, { outcome: 'refused', cardId: r.cardId, field: e.field, reason: e.reason });
      }
    }
    await this.cards.insertResidents(ready.map(({ record: r }) => ({ cardId: r.cardId, route: r.route, resident: r.resident }) as CardInput));
    const items = ready.flatMap(({ record: r }) => r.handwriting.map((h) => [r.cardId, h.field, h.position, h.source, h.note.slice(0, 200)]));
    for (let i = 0; i < items.length; i += 500) {
      const part = items.slice(i, i + 500);
      await em.execute(
        `insert into card_handwriting (card_id, field, position, source, note) values ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')} on conflict do nothing`,
        part.flat(),
      );
    }
    const tokyo = (iso?: string) => (iso ? new Date(`${iso}T00:00:00+09:00`).toISOString() : undefined);
    const at = Date.now();
    const starts = ready.map(({ record: r, booking }) => {
      const args: CardWorkflowInput = {
        registration: { cardId: r.cardId, route: r.route, venueId: r.venueId, hasPhone: Boolean(r.resident.phone), expiresOn: r.dates.expiresOn },
        policy: this.deps.ward.policy,
        actor,
        patchesAtStart: [...PATCHES_AT_START],
        migrated: {
          vendor: p.mapping.vendor,
          row: r.row,
          oldStatus: r.oldStatus,
          state: r.state,
          implies: r.implies,
          receivedAt: tokyo(r.dates.receivedOn),
          noticeMailedAt: tokyo(r.dates.noticeMailedOn),
          renoticedAt: tokyo(r.dates.renoticedOn),
          issuedAt: tokyo(r.dates.issuedOn),
          bookingNumber: r.bookingNumber,
          booking,
          oldDates: r.oldDates,
        },
      };
      outcome.set(r.row, { outcome: 'imported', cardId: r.cardId });
      return { cardId: r.cardId, args };
    });
    // Started by the card workers, eagerly, from registration's outbox (src/worker/card-starter.ts).
    // A plain card's first projection (nothing booked, no number to draw) is written here, in one
    // statement with its start, and its workflow starts from that state (`projectedAt`); any other
    // card's first task projects its migrated state. A card started before (a resumed run) is
    // refused as already started there, and its outbox row removed.
    const plain: { first: Transition; args: CardWorkflowInput }[] = [];
    const others: typeof starts = [];
    for (const x of starts) {
      const first = withDueTimers(migrate(x.args.registration, x.args.migrated!, actor, at), x.args.policy, at);
      if (plainMigratedProjection(first.card, first.events)) plain.push({ first, args: { ...x.args, projectedAt: at } });
      else others.push(x);
    }
    await this.cards.insertFirstProjections(this.deps.taskQueue, plain);
    await this.cards.enqueueStarts(this.deps.taskQueue, others);
    await this.waitReadable(ready.map((r) => r.record.cardId), opts.readableWaitMs ?? 60_000);
    const expected = new Map(records.map((r) => [r.row, expectedOf(r)]));
    const rows = [...outcome.entries()];
    for (let i = 0; i < rows.length; i += 500) {
      const part = rows.slice(i, i + 500);
      await em.execute(
        `insert into migration_row (run_id, row_no, card_id, outcome, field, reason, expected) values ${part.map(() => '(?, ?, ?, ?, ?, ?, ?::jsonb)').join(', ')}
         on conflict (run_id, row_no) do update set card_id = excluded.card_id, outcome = excluded.outcome, field = excluded.field, reason = excluded.reason,
           expected = excluded.expected, at = now()`,
        part.flatMap(([row, o]) => [runId, row, o.cardId ?? null, o.outcome, o.field ?? null, o.reason?.slice(0, 500) ?? null, expected.has(row) ? JSON.stringify(expected.get(row)) : null]),
      );
    }
  }

  /** Waits until the read model holds these cards (their first projection), or the time is up. */
  private async waitReadable(cardIds: string[], waitMs: number): Promise<void> {
    let missing = cardIds;
    const until = Date.now() + waitMs;
    for (let pause = 25; missing.length > 0 && Date.now() < until; pause = Math.min(pause * 2, 400)) {
      const have = await this.cards.readable(missing);
      missing = missing.filter((id) => !have.has(id));
      if (missing.length) await sleep(pause);
    }
  }

  /** A run's counts, from its rows. */
  async progress(runId: string): Promise<RunProgress> {
    const em = this.deps.em.fork();
    const [run] = await em.execute<{ id: string; vendor: string; file_name: string; status: RunProgress['status']; total: number; started_at: Date; finished_at: Date | null }[]>(
      `select id, vendor, file_name, status, total, started_at, finished_at from migration_run where id = ?`,
      [runId],
    );
    if (!run) throw new Error(`no migration run ${runId}`);
    const by = new Map(
      (await em.execute<{ outcome: string; n: string }[]>(`select outcome, count(*) as n from migration_row where run_id = ? group by outcome`, [runId])).map((r) => [r.outcome, Number(r.n)]),
    );
    return {
      runId: String(run.id),
      vendor: run.vendor,
      fileName: run.file_name,
      status: run.status,
      total: Number(run.total),
      imported: by.get('imported') ?? 0,
      existed: by.get('existed') ?? 0,
      refused: by.get('refused') ?? 0,
      pending: by.get('pending') ?? 0,
      startedAt: new Date(run.started_at).toISOString(),
      finishedAt: run.finished_at ? new Date(run.finished_at).toISOString() : null,
    };
  }

  /** The runs, newest first. */
  async runs(limit = 20): Promise<RunProgress[]> {
    const ids = await this.deps.em.fork().execute<{ id: string }[]>(`select id from migration_run order by id desc limit ?`, [limit]);
    return Promise.all(ids.map((r) => this.progress(String(r.id))));
  }

  /** A run's rows with their outcome (refused rows with field and reason), in row order. */
  async runRows(runId: string): Promise<{ row: number; cardId: string | null; outcome: string; field: string | null; reason: string | null }[]> {
    const rows = await this.deps.em.fork().execute<{ row_no: number; card_id: string | null; outcome: string; field: string | null; reason: string | null }[]>(
      `select row_no, card_id, outcome, field, reason from migration_row where run_id = ? order by row_no`,
      [runId],
    );
    return rows.map((r) => ({ row: Number(r.row_no), cardId: r.card_id, outcome: r.outcome, field: r.field, reason: r.reason }));
  }
}

/** What the integrity check compares a migrated card with: the old record's card facts, and a digest of its resident. */
export interface Expected {
  oldStatus: string;
  state: string;
  route: string;
  venueId: string;
  bookingNumber: string | null;
  booked: boolean;
  resident: string;
}

/** A digest of the resident's stored fields, so that the check compares them without keeping a second copy. */
export function residentDigest(r: { name: string; nameKana: string; birthDate: string; postalCode: string; address: string; phone?: string | null }): string {
  return sha256(JSON.stringify([r.name, r.nameKana, r.birthDate, r.postalCode, r.address, r.phone ?? null]));
}

function expectedOf(r: LegacyRecord): Expected {
  return {
    oldStatus: r.oldStatus,
    state: r.state,
    route: r.route,
    venueId: r.venueId,
    bookingNumber: r.bookingNumber ?? null,
    booked: r.state === 'reserved' && r.bookingStartsAt !== undefined,
    resident: residentDigest(r.resident),
  };
}

class Refused extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}
