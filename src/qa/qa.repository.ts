/** Every read and write of the Q&A book (qa_entry, and the append-only qa_revision). */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../auth/auth.types.js';

export const QA_STATUSES = ['reported', 'draft', 'approved', 'retired'] as const;
export type QaStatus = (typeof QA_STATUSES)[number];
export type QaChangeKind = 'reported' | 'drafted' | 'edited' | 'approved' | 'retired';

export interface QaEntryView {
  id: string;
  status: QaStatus;
  category: string | null;
  question: string;
  answer: string | null;
  version: number;
  createdBy: string;
  updatedBy: string;
  approvedBy: string | null;
  approvedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface QaRevisionView {
  id: string;
  entryId: string;
  version: number;
  status: QaStatus;
  category: string | null;
  question: string;
  answer: string | null;
  changedBy: string;
  changedRole: string;
  change: QaChangeKind;
  changedAt: Date;
}

/** An entry as the book shows it: the text of its latest approval. */
export interface QaBookItem {
  id: string;
  version: number;
  category: string | null;
  question: string;
  answer: string | null;
  approvedBy: string;
  approvedAt: Date;
  /** A newer version (an edit) waits for approval. */
  pending: boolean;
}

/** What a change makes of the entry; `approval` says what happens to approved_by/at. */
export interface QaNext {
  status: QaStatus;
  category: string | null;
  question: string;
  answer: string | null;
  change: QaChangeKind;
  approval: 'set' | 'clear' | 'keep';
}

export interface QaChanged {
  entry: QaEntryView;
  change: QaChangeKind;
}

// Raw query timestamps may come back as strings.
const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const toDateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : toDate(v));

type Row = Record<string, unknown>;

const toEntry = (r: Row): QaEntryView => ({
  id: String(r.id),
  status: r.status as QaStatus,
  category: (r.category as string | null) ?? null,
  question: String(r.question),
  answer: (r.answer as string | null) ?? null,
  version: Number(r.version),
  createdBy: String(r.created_by),
  updatedBy: String(r.updated_by),
  approvedBy: (r.approved_by as string | null) ?? null,
  approvedAt: toDateOrNull(r.approved_at),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

const toRevision = (r: Row): QaRevisionView => ({
  id: String(r.id),
  entryId: String(r.entry_id),
  version: Number(r.version),
  status: r.status as QaStatus,
  category: (r.category as string | null) ?? null,
  question: String(r.question),
  answer: (r.answer as string | null) ?? null,
  changedBy: String(r.changed_by),
  changedRole: String(r.changed_role),
  change: r.change as QaChangeKind,
  changedAt: toDate(r.changed_at),
});

const REVISION_COLUMNS = 'id::text as id, entry_id, version, status, category, question, answer, changed_by, changed_role, change, changed_at';

/** The book: per entry that is not retired, its latest approved revision. */
const BOOK = `select distinct on (r.entry_id) r.entry_id, r.version, r.category, r.question, r.answer, r.changed_by, r.changed_at, e.version as current_version
  from qa_revision r join qa_entry e on e.id = r.entry_id
  where r.change = 'approved' and e.status <> 'retired'
  order by r.entry_id, r.version desc`;

/** Text as the search compares it: full-width letters and digits folded (NFKC), lower case. */
export const searchForm = (text: string) => text.normalize('NFKC').toLowerCase();
const likePattern = (text: string) => `%${searchForm(text).replace(/[!%_]/g, (c) => `!${c}`)}%`;

@Injectable()
export class QaRepository {
  constructor(private readonly em: EntityManager) {}

  private run<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  /** A new reported question and its first revision, in one transaction. */
  async insertReported(input: { category: string | null; question: string }, user: AuthUser): Promise<QaEntryView> {
    return this.em.fork().transactional(async (tx) => {
      const [row] = await tx.execute<Row[]>(
        `insert into qa_entry (status, category, question, version, created_by, updated_by) values ('reported', ?, ?, 1, ?, ?) returning *`,
        [input.category, input.question, user.username, user.username],
      );
      const entry = toEntry(row);
      await this.insertRevision(tx, entry, user, 'reported');
      return entry;
    });
  }

  /**
   * Changes one entry under a row lock: `plan` sees the current row (undefined if none) and either
   * throws or says what the entry becomes. The version is bumped and the revision written in the
   * same transaction, so the entry and its history never disagree.
   */
  async change(id: string, user: AuthUser, plan: (current: QaEntryView | undefined) => QaNext): Promise<QaChanged> {
    return this.em.fork().transactional(async (tx) => {
      const [row] = await tx.execute<Row[]>(`select * from qa_entry where id = ? for update`, [id]);
      const next = plan(row ? toEntry(row) : undefined);
      const approval = { set: `, approved_by = ?, approved_at = now()`, clear: `, approved_by = null, approved_at = null`, keep: '' }[next.approval];
      const [updated] = await tx.execute<Row[]>(
        `update qa_entry set status = ?, category = ?, question = ?, answer = ?, version = version + 1, updated_by = ?, updated_at = now()${approval}
         where id = ? returning *`,
        [next.status, next.category, next.question, next.answer, user.username, ...(next.approval === 'set' ? [user.username] : []), id],
      );
      const entry = toEntry(updated);
      await this.insertRevision(tx, entry, user, next.change);
      return { entry, change: next.change };
    });
  }

  private async insertRevision(tx: EntityManager, e: QaEntryView, user: AuthUser, change: QaChangeKind): Promise<void> {
    await tx.execute(
      `insert into qa_revision (entry_id, version, status, category, question, answer, changed_by, changed_role, change) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [e.id, e.version, e.status, e.category, e.question, e.answer, user.username, user.role, change],
    );
  }

  async find(id: string): Promise<QaEntryView | undefined> {
    const [row] = await this.run(`select * from qa_entry where id = ?`, [id]);
    return row && toEntry(row);
  }

  /** Every revision of one entry, oldest first. */
  async revisions(entryId: string): Promise<QaRevisionView[]> {
    return (await this.run(`select ${REVISION_COLUMNS} from qa_revision where entry_id = ? order by version`, [entryId])).map(toRevision);
  }

  /** The entry's text as the book shows it (its latest approval), unless it is retired. */
  async bookItem(entryId: string): Promise<QaBookItem | undefined> {
    const [row] = await this.run(`select * from (${BOOK}) b where b.entry_id = ?`, [entryId]);
    return row && toBookItem(row);
  }

  /** The book, searched: text in question or answer (case- and width-insensitive), category. */
  async book(f: { q?: string; category?: string; limit: number }): Promise<QaBookItem[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.q) {
      where.push(`(lower(normalize(b.question, NFKC)) like ? escape '!' or lower(normalize(coalesce(b.answer, ''), NFKC)) like ? escape '!')`);
      params.push(likePattern(f.q), likePattern(f.q));
    }
    if (f.category) {
      where.push('b.category = ?');
      params.push(f.category);
    }
    params.push(f.limit);
    const rows = await this.run(`select * from (${BOOK}) b ${where.length ? `where ${where.join(' and ')}` : ''} order by b.category nulls last, b.changed_at desc limit ?`, params);
    return rows.map(toBookItem);
  }

  /** The categories in the book, for its filter. */
  async bookCategories(): Promise<string[]> {
    const rows = await this.run<{ category: string }>(`select distinct category from (${BOOK}) b where category is not null order by category`);
    return rows.map((r) => r.category);
  }

  /** Every category in use, offered when a question is reported or an answer drafted. */
  async categories(): Promise<string[]> {
    const rows = await this.run<{ category: string }>(`select distinct category from qa_entry where category is not null order by category limit 200`);
    return rows.map((r) => r.category);
  }

  async byStatus(statuses: QaStatus[], limit: number): Promise<QaEntryView[]> {
    const rows = await this.run(`select * from qa_entry where status = any(?::text[]) order by updated_at desc limit ?`, [`{${statuses.join(',')}}`, limit]);
    return rows.map(toEntry);
  }

  /** Revisions of every entry, newest first; keyset-paged by id. */
  async changes(f: { before?: string; limit: number }): Promise<QaRevisionView[]> {
    const rows = await this.run(
      `select ${REVISION_COLUMNS} from qa_revision ${f.before ? 'where id < ?' : ''} order by qa_revision.id desc limit ?`,
      f.before ? [f.before, f.limit] : [f.limit],
    );
    return rows.map(toRevision);
  }
}

function toBookItem(r: Row): QaBookItem {
  return {
    id: String(r.entry_id),
    version: Number(r.version),
    category: (r.category as string | null) ?? null,
    question: String(r.question),
    answer: (r.answer as string | null) ?? null,
    approvedBy: String(r.changed_by),
    approvedAt: toDate(r.changed_at),
    pending: Number(r.current_version) > Number(r.version),
  };
}
