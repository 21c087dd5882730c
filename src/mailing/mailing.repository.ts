/**
 * Every read and write of mail batches (`mail_batch`, `mail_batch_item`, `mail_document`). Used by
 * the API (through Nest) and by the batch's activities (given the ORM's EntityManager). Raw SQL:
 * the batch is built in one statement set under a lock, and items are read in post order.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { type EnvelopeClass, envelopeClassFor, sortForPost } from '../printing/documents.js';

export type BatchKind = 'notice' | 'renotice';
export type BatchStatus = 'draft' | 'rendering' | 'printed' | 'failed' | 'checked' | 'handing_over' | 'handed_over' | 'cancelled';

/** The card states whose mailing a batch of each kind does: notices for cards set up at their venue. */
export const DUE_STATE: Record<BatchKind, string> = { notice: 'at_venue', renotice: 'renotice_approved' };
/** The card action that records the mailing. */
export const MAIL_ACTION: Record<BatchKind, 'mail_notice' | 'mail_renotice'> = { notice: 'mail_notice', renotice: 'mail_renotice' };

export interface BatchView {
  id: string;
  kind: BatchKind;
  status: BatchStatus;
  quota: number;
  createdBy: string;
  createdAt: Date;
  printedAt: Date | null;
  checkedBy: string | null;
  handedOverBy: string | null;
  handedOverAt: Date | null;
  progressDone: number;
  progressTotal: number;
  error: string | null;
  items: number;
  pulledOut: number;
  mailed: number;
}

export interface BatchItemView {
  cardId: string;
  position: number;
  venueId: string;
  postOfficeId: string;
  envelopeClass: EnvelopeClass;
  bookingNumber: string | null;
  handwriting: unknown[] | null;
  pulledOutAt: Date | null;
  mailedAt: Date | null;
}

/** An item with what is printed for it (personal data: read only to print). */
export interface PrintRow extends BatchItemView {
  name: string;
  nameKana: string;
  alphabetName: string | null;
  commonName: string | null;
  nameCategory: 'legal' | 'alphabet' | 'common';
  postalCode: string;
  address: string;
  expiresOn: string | null;
}

export interface MailDocumentView {
  batchId: string;
  kind: string;
  file: string;
  sha256: string;
  bytes: number;
  pages: number;
  createdAt: Date;
}

interface BatchRow {
  id: string;
  kind: BatchKind;
  status: BatchStatus;
  quota: number;
  created_by: string;
  created_at: Date;
  printed_at: Date | null;
  checked_by: string | null;
  handed_over_by: string | null;
  handed_over_at: Date | null;
  progress_done: number;
  progress_total: number;
  error: string | null;
  items: string;
  pulled_out: string;
  mailed: string;
}

const batchView = (r: BatchRow): BatchView => ({
  id: r.id,
  kind: r.kind,
  status: r.status,
  quota: r.quota,
  createdBy: r.created_by,
  createdAt: new Date(r.created_at),
  printedAt: r.printed_at ? new Date(r.printed_at) : null,
  checkedBy: r.checked_by,
  handedOverBy: r.handed_over_by,
  handedOverAt: r.handed_over_at ? new Date(r.handed_over_at) : null,
  progressDone: r.progress_done,
  progressTotal: r.progress_total,
  error: r.error,
  items: Number(r.items),
  pulledOut: Number(r.pulled_out),
  mailed: Number(r.mailed),
});

const BATCH_SELECT = `select b.*, count(i.card_id) as items, count(i.pulled_out_at) as pulled_out, count(i.mailed_at) as mailed
  from mail_batch b left join mail_batch_item i on i.batch_id = b.id`;

const ITEM_COLUMNS = `i.card_id, i.position, i.venue_id, i.post_office_id, i.envelope_class, i.booking_number, i.handwriting, i.pulled_out_at, i.mailed_at`;

const itemView = (r: any): BatchItemView => ({
  cardId: r.card_id,
  position: r.position,
  venueId: r.venue_id,
  postOfficeId: r.post_office_id,
  envelopeClass: r.envelope_class,
  bookingNumber: r.booking_number,
  handwriting: r.handwriting,
  pulledOutAt: r.pulled_out_at ? new Date(r.pulled_out_at) : null,
  mailedAt: r.mailed_at ? new Date(r.mailed_at) : null,
});

export class MailingRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Builds a draft batch from the cards whose mailing is due, oldest receipt first, up to the quota:
   * sorted by delivering post office and address, each post office's envelope class by its count.
   * One batch is built at a time (an advisory lock), and a card already waiting in a batch is never
   * taken again (the partial unique index would refuse it).
   */
  async createDraft(input: {
    kind: BatchKind;
    quota: number;
    by: string;
    today: string;
    postOfficeOrder: string[];
    postOfficeFor: (postalCode: string) => string | undefined;
    /** Only these cards, if due (a batch of chosen cards: reissues; tests on a shared database). */
    onlyCards?: string[];
  }): Promise<BatchView | null> {
    return this.em.fork().transactional(async (tx) => {
      await tx.execute(`select pg_advisory_xact_lock(hashtext('mail_batch'))`);
      const due = await tx.execute<{ card_id: string; venue_id: string; postal_code: string; address: string; booking_number: string | null }[]>(
        `select c.card_id, c.venue_id, r.postal_code, r.address, c.booking_number
           from card c join card_resident r on r.card_id = c.card_id
          where c.route = 'pickup' and c.state = ? and c.venue_id is not null
            and not exists (select 1 from mail_batch_item i where i.card_id = c.card_id and i.pulled_out_at is null and i.mailed_at is null)
            ${input.onlyCards ? 'and c.card_id = any(?::text[])' : ''}
          order by c.received_at, c.card_id limit ?`,
        // Card ids are letters, digits and hyphens (the registration schema): safe in an array literal.
        [DUE_STATE[input.kind], ...(input.onlyCards ? [`{${input.onlyCards.join(',')}}`] : []), input.quota],
      );
      if (due.length === 0) return null;
      const cards = due.map((d) => ({ ...d, cardId: d.card_id, postalCode: d.postal_code, postOfficeId: input.postOfficeFor(d.postal_code) ?? input.postOfficeOrder[0] }));
      const sorted = sortForPost(cards, input.postOfficeOrder);
      const perOffice = new Map<string, number>();
      for (const c of sorted) perOffice.set(c.postOfficeId, (perOffice.get(c.postOfficeId) ?? 0) + 1);
      const day = input.today.replaceAll('-', '');
      const [{ n }] = await tx.execute<{ n: string }[]>(`select count(*) as n from mail_batch where id like ?`, [`B${day}-%`]);
      const id = `B${day}-${String(Number(n) + 1).padStart(3, '0')}`;
      await tx.execute(`insert into mail_batch (id, kind, quota, created_by, progress_total) values (?, ?, ?, ?, ?)`, [id, input.kind, input.quota, input.by, sorted.length]);
      const values = sorted.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ');
      await tx.execute(
        `insert into mail_batch_item (batch_id, card_id, position, venue_id, post_office_id, envelope_class, booking_number) values ${values}`,
        sorted.flatMap((c, i) => [id, c.cardId, i + 1, c.venue_id, c.postOfficeId, envelopeClassFor(perOffice.get(c.postOfficeId)!), c.booking_number]),
      );
      return (await this.batchIn(tx, id))!;
    });
  }

  private async batchIn(em: EntityManager, id: string): Promise<BatchView | null> {
    const rows = await em.execute<BatchRow[]>(`${BATCH_SELECT} where b.id = ? group by b.id`, [id]);
    return rows[0] ? batchView(rows[0]) : null;
  }

  batch(id: string): Promise<BatchView | null> {
    return this.batchIn(this.em.fork(), id);
  }

  async list(limit = 100): Promise<BatchView[]> {
    const rows = await this.em.fork().execute<BatchRow[]>(`${BATCH_SELECT} group by b.id order by b.created_at desc limit ?`, [limit]);
    return rows.map(batchView);
  }

  async items(batchId: string): Promise<BatchItemView[]> {
    const rows = await this.em.fork().execute(`select ${ITEM_COLUMNS} from mail_batch_item i where i.batch_id = ? order by i.position`, [batchId]);
    return rows.map(itemView);
  }

  /** The items still to print and mail, with what is printed for them, in post order. */
  async printRows(batchId: string): Promise<PrintRow[]> {
    const rows = await this.em.fork().execute(
      `select ${ITEM_COLUMNS}, r.name, r.name_kana, r.alphabet_name, r.common_name, r.name_category, r.postal_code, r.address,
              to_char(least(c.expires_on, r.residence_period_end), 'YYYY-MM-DD') as expires_on, coalesce(c.booking_number, i.booking_number) as current_booking_number
         from mail_batch_item i join card_resident r on r.card_id = i.card_id join card c on c.card_id = i.card_id
        where i.batch_id = ? and i.pulled_out_at is null order by i.position`,
      [batchId],
    );
    return rows.map((r) => ({
      ...itemView(r),
      bookingNumber: r.current_booking_number,
      name: r.name,
      nameKana: r.name_kana,
      alphabetName: r.alphabet_name,
      commonName: r.common_name,
      nameCategory: r.name_category,
      postalCode: r.postal_code,
      address: r.address,
      expiresOn: r.expires_on,
    }));
  }

  /** Pulls a card out of a batch before it is mailed; false when it was not waiting in it. */
  async pullOut(batchId: string, cardId: string, by: string): Promise<boolean> {
    const rows = await this.em
      .fork()
      .execute(`update mail_batch_item set pulled_out_at = now(), pulled_out_by = ? where batch_id = ? and card_id = ? and pulled_out_at is null and mailed_at is null returning card_id`, [by, batchId, cardId]);
    return rows.length > 0;
  }

  async setStep(batchId: string, step: BatchStatus, by?: string, error?: string): Promise<void> {
    const stamp: Partial<Record<BatchStatus, string>> = {
      printed: `, printed_at = now()`,
      checked: `, checked_by = ?, checked_at = now()`,
      handed_over: `, handed_over_by = ?, handed_over_at = now()`,
    };
    const extra = stamp[step] ?? '';
    const params: unknown[] = [step, error ?? null];
    if (extra.includes('?')) params.push(by ?? null);
    params.push(batchId);
    await this.em.fork().execute(`update mail_batch set status = ?, error = ?${extra} where id = ?`, params);
  }

  async setProgress(batchId: string, done: number, total: number): Promise<void> {
    await this.em.fork().execute(`update mail_batch set progress_done = ?, progress_total = ? where id = ?`, [done, total, batchId]);
  }

  async setHandwriting(batchId: string, byCard: Map<string, unknown[]>): Promise<void> {
    const em = this.em.fork();
    await em.execute(`update mail_batch_item set handwriting = null where batch_id = ?`, [batchId]);
    for (const [cardId, entries] of byCard) {
      await em.execute(`update mail_batch_item set handwriting = ?::jsonb where batch_id = ? and card_id = ?`, [JSON.stringify(entries), batchId, cardId]);
    }
  }

  async markMailed(batchId: string, cardId: string): Promise<void> {
    await this.em.fork().execute(`update mail_batch_item set mailed_at = coalesce(mailed_at, now()) where batch_id = ? and card_id = ?`, [batchId, cardId]);
  }

  async saveDocument(d: Omit<MailDocumentView, 'createdAt'>): Promise<void> {
    await this.em
      .fork()
      .execute(
        `insert into mail_document (batch_id, kind, file, sha256, bytes, pages) values (?, ?, ?, ?, ?, ?)
         on conflict (batch_id, kind) do update set file = excluded.file, sha256 = excluded.sha256, bytes = excluded.bytes, pages = excluded.pages, created_at = now()`,
        [d.batchId, d.kind, d.file, d.sha256, d.bytes, d.pages],
      );
  }

  async documents(batchId: string): Promise<MailDocumentView[]> {
    const rows = await this.em.fork().execute(`select * from mail_document where batch_id = ? order by id`, [batchId]);
    return rows.map((r) => ({ batchId: r.batch_id, kind: r.kind, file: r.file, sha256: r.sha256, bytes: Number(r.bytes), pages: r.pages, createdAt: new Date(r.created_at) }));
  }

  /** The documents mailed to a card: batch, kind, the page it is on, the file's SHA-256. */
  async mailedForCard(cardId: string): Promise<{ batchId: string; kind: BatchKind; mailedAt: Date; page: number; sha256: string | null }[]> {
    const rows = await this.em.fork().execute(
      `select i.batch_id, b.kind, i.mailed_at, d.sha256,
              (select count(*) from mail_batch_item j where j.batch_id = i.batch_id and j.pulled_out_at is null and j.position <= i.position) as page
         from mail_batch_item i join mail_batch b on b.id = i.batch_id
         left join mail_document d on d.batch_id = i.batch_id and d.kind = case b.kind when 'notice' then 'notices' else 'renotices' end
        where i.card_id = ? and i.mailed_at is not null order by i.mailed_at`,
      [cardId],
    );
    return rows.map((r) => ({ batchId: r.batch_id, kind: r.kind, mailedAt: new Date(r.mailed_at), page: Number(r.page), sha256: r.sha256 }));
  }
}
