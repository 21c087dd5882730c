/**
 * The shared Q&A book: questions reported by the call center, the venues and staff; answers
 * drafted by the vendor (office, call center) or the ward; approved by the ward before anyone else
 * reads them in the book; retired by the ward. Every change is a new version and a revision row.
 */
import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types.js';
import type { StaffRole } from '../../workflows/card-state-machine.js';
import { QaErrorCode, QaException } from './qa.exception.js';
import { type QaBookItem, type QaEntryView, type QaChanged, type QaNext, QaRepository, type QaRevisionView, type QaStatus } from './qa.repository.js';

/** Who may do what; the controller's `@Allow` and the pages' buttons read the same table. */
export const QA_ROLES = {
  read: ['ward', 'office', 'callcenter', 'venue', 'auditor'],
  report: ['ward', 'office', 'callcenter', 'venue'],
  draft: ['ward', 'office', 'callcenter'],
  decide: ['ward'],
  /** Reported and draft entries (the work list); the others read the book only. */
  seeUnapproved: ['ward', 'office', 'callcenter', 'auditor'],
  seeRevisions: ['ward', 'auditor'],
} as const satisfies Record<string, readonly StaffRole[]>;

export const may = (role: StaffRole, what: keyof typeof QA_ROLES) => (QA_ROLES[what] as readonly StaffRole[]).includes(role);

export interface QaEntryPage {
  /** The entry as this user may see it: in full, or (for readers of the book only) its approved text. */
  entry: QaEntryView;
  /** The approved text the book shows while a newer version waits for approval. */
  published?: QaBookItem;
  revisions?: QaRevisionView[];
  full: boolean;
}

const notFound = (id: string) => new QaException(QaErrorCode.ENTRY_NOT_FOUND, `Q&A の項目 ${id} は見つかりません`);
const illegal = (entry: QaEntryView, message: string) => new QaException(QaErrorCode.ILLEGAL_TRANSITION, message, { status: entry.status, version: entry.version });

/** Refuses a form read at an older version: someone changed the entry since. */
function checkVersion(entry: QaEntryView, version: number): void {
  if (entry.version !== version) {
    throw new QaException(
      QaErrorCode.STALE_VERSION,
      `この項目は、画面を開いた後に更新されています（開いた版 ${version}、現在の版 ${entry.version}）。ページを再読み込みして最新の内容を確認してから、もう一度操作してください。`,
      { expectedVersion: version, currentVersion: entry.version },
    );
  }
}

@Injectable()
export class QaService {
  constructor(private readonly repo: QaRepository) {}

  report(input: { category: string | null; question: string }, user: AuthUser): Promise<QaEntryView> {
    return this.repo.insertReported(input, user);
  }

  /** Writes or edits the answer: the entry becomes (again) a draft that the ward must approve. */
  draft(id: string, input: { version: number; category: string | null; question: string; answer: string }, user: AuthUser): Promise<QaChanged> {
    return this.repo.change(id, user, (current) => {
      if (!current) throw notFound(id);
      checkVersion(current, input.version);
      if (current.status === 'retired') throw illegal(current, '廃止された項目は編集できません。');
      return { status: 'draft', category: input.category, question: input.question, answer: input.answer, change: current.status === 'reported' ? 'drafted' : 'edited', approval: 'clear' };
    });
  }

  approve(id: string, version: number, user: AuthUser): Promise<QaChanged> {
    return this.repo.change(id, user, (current) => {
      if (!current) throw notFound(id);
      checkVersion(current, version);
      const refused: Partial<Record<QaStatus, string>> = {
        reported: 'まだ回答がないため承認できません。先に回答を作成してください。',
        approved: `この項目はすでに承認されています（版 ${current.version}）。`,
        retired: '廃止された項目は承認できません。',
      };
      if (refused[current.status]) throw illegal(current, refused[current.status]!);
      if (!current.answer?.trim()) throw illegal(current, 'まだ回答がないため承認できません。先に回答を作成してください。');
      return { ...this.texts(current), status: 'approved', change: 'approved', approval: 'set' };
    });
  }

  retire(id: string, version: number, user: AuthUser): Promise<QaChanged> {
    return this.repo.change(id, user, (current) => {
      if (!current) throw notFound(id);
      checkVersion(current, version);
      if (current.status === 'retired') throw illegal(current, 'この項目はすでに廃止されています。');
      return { ...this.texts(current), status: 'retired', change: 'retired', approval: 'keep' };
    });
  }

  private texts(e: QaEntryView): Pick<QaNext, 'category' | 'question' | 'answer'> {
    return { category: e.category, question: e.question, answer: e.answer };
  }

  /**
   * One entry for one user. Readers of the book only (venues) see the approved text, and nothing of
   * an entry not (or no longer) in the book; the ward and auditors also get every revision.
   */
  async entry(id: string, user: AuthUser): Promise<QaEntryPage> {
    const [entry, published] = await Promise.all([this.repo.find(id), this.repo.bookItem(id)]);
    if (!entry) throw notFound(id);
    if (!may(user.role, 'seeUnapproved')) {
      if (!published) throw notFound(id);
      const asPublished: QaEntryView = {
        ...entry,
        status: 'approved',
        version: published.version,
        category: published.category,
        question: published.question,
        answer: published.answer,
        approvedBy: published.approvedBy,
        approvedAt: published.approvedAt,
        updatedAt: published.approvedAt,
      };
      return { entry: asPublished, full: false };
    }
    return {
      entry,
      published: published && published.version !== entry.version ? published : undefined,
      revisions: may(user.role, 'seeRevisions') ? await this.repo.revisions(id) : undefined,
      full: true,
    };
  }

  book(f: { q?: string; category?: string }): Promise<QaBookItem[]> {
    return this.repo.book({ ...f, limit: 300 });
  }

  bookCategories(): Promise<string[]> {
    return this.repo.bookCategories();
  }

  categories(): Promise<string[]> {
    return this.repo.categories();
  }

  /** Reported and draft entries, for those who answer and approve. */
  async worklist(user: AuthUser): Promise<QaEntryView[]> {
    return may(user.role, 'seeUnapproved') ? this.repo.byStatus(['reported', 'draft'], 300) : [];
  }

  async retired(user: AuthUser): Promise<QaEntryView[]> {
    return may(user.role, 'seeRevisions') ? this.repo.byStatus(['retired'], 300) : [];
  }

  changes(f: { before?: string; limit: number }): Promise<QaRevisionView[]> {
    return this.repo.changes(f);
  }
}
