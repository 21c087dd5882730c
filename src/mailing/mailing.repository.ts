/**
 * Every read and write of mail batches (`mail_batch`, `mail_batch_item`, `mail_document`). Used by
 * the API (through Nest) and by the batch's activities (given the ORM's EntityManager). Raw SQL:
 * the batch is built in one statement set under a lock, and items are read in post order.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { type EnvelopeClass, envelopeClassFor, sortForPost } from '../printing/documents.js';

export type BatchKind = 'notice' | 'renotice';
export type BatchStatus = 'draft' | 'rendering' | 'printed' | 'failed' | 'checked' | 'handing_over' | 'handed_over' | 'cancelled';

/** The card states whose mailing a batch of each kind does: notices for cards set up at their venue (R-3.10). */
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

/** Why an approved re-notice was left out of a batch (R-6.2): it goes to a discard proposal instead. */
export type ExclusionReason = 'expired' | 'removed';

export interface ExclusionView {
  cardId: string;
  reason: ExclusionReason;
  proposedAt: Date | null;
  error: string | null;
}

/** A card of R-1.2 / R-1.4 whose notice is pulled out and handed to the ward with the card (R-3.2). */
export interface WardHandoverRow {
  cardId: string;
  route: string;
  state: string;
  receivedAt: Date;
  name: string;
  nameKana: string;
  postalCode: string;
  address: string;
}

/** States in which a reissued notice can be mailed (`mail_notice` from them): a lost or a returned notice. */
export const REISSUE_STATES = ['notice_mailed', 'notice_returned'] as const;

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
  /** The reissue task this item answers (a reissued notice, printed 再発行), else null. */
  reissueTaskId: string | null;
  /** The task's note (why the notice is reissued). */
  reissueNote: string | null;
  /** Still in the batch, but its card has left the state its mailing starts from (pull it out). */
  moved?: boolean;
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

const ITEM_COLUMNS = `i.card_id, i.position, i.venue_id, i.post_office_id, i.envelope_class, i.booking_number, i.handwriting, i.pulled_out_at, i.mailed_at,
  i.reissue_task_id::text as reissue_task_id, (select t.note from task t where t.id = i.reissue_task_id) as reissue_note`;

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
  reissueTaskId: r.reissue_task_id ?? null,
  reissueNote: r.reissue_note ?? null,
});

/** An item whose card has left the state its mailing starts from (`i`, `b`, `c`: item, batch, card). */
const MOVED = `(case when b.kind = 'renotice' then c.state <> 'renotice_approved'
  when i.reissue_task_id is not null then c.state not in ('${REISSUE_STATES.join("', '")}') else c.state <> 'at_venue' end)`;

/** At most this many cards left out of one re-notice batch (the rest are left out by the next one). */
const MAX_EXCLUSIONS = 1000;

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
      // Card ids are letters, digits and hyphens (the registration schema): safe in an array literal.
      const only = input.onlyCards ? 'and c.card_id = any(?::text[])' : '';
      const onlyParam = input.onlyCards ? [`{${input.onlyCards.join(',')}}`] : [];
      const waiting = `not exists (select 1 from mail_batch_item i where i.card_id = c.card_id and i.pulled_out_at is null and i.mailed_at is null)`;
      type Due = { card_id: string; venue_id: string; postal_code: string; address: string; booking_number: string | null; task_id: string | null };
      let due: Due[];
      const exclusions: { cardId: string; reason: ExclusionReason; proposed: boolean }[] = [];
      if (input.kind === 'notice') {
        // Cards set up at their venue, and reissues (R-4.4): an open reissue task on a card whose
        // notice was mailed (lost) or returned (mailed again to a corrected address). Reissues first.
        due = await tx.execute<Due[]>(
          `select * from (
             select c.card_id, c.venue_id, r.postal_code, r.address, c.booking_number, null::text as task_id, c.received_at
               from card c join card_resident r on r.card_id = c.card_id
              where c.route = 'pickup' and c.state = 'at_venue' and c.venue_id is not null and ${waiting} ${only}
             union all
             select c.card_id, c.venue_id, r.postal_code, r.address, c.booking_number, t.id::text as task_id, c.received_at
               from task t join card c on c.card_id = t.card_id join card_resident r on r.card_id = c.card_id
              where t.kind = 'reissue' and t.status = 'open' and c.route = 'pickup' and c.state in ('${REISSUE_STATES.join("', '")}')
                and c.venue_id is not null and ${waiting} ${only}
           ) d order by d.task_id is null, d.received_at, d.card_id limit ?`,
          [...onlyParam, ...onlyParam, input.quota],
        );
      } else {
        // Approved re-notices (R-6.3). Among them, expired cards (the card or the residence period has
        // ended, or an expiry proposal is open) are left out and go to a discard proposal (R-6.2),
        // unless the ward has rejected discarding the card.
        const expired = `(least(c.expires_on, r.residence_period_end) < ?::date or 'expiry' = any(c.proposal_kinds)) and not coalesce(c.snapshot->'rejected' @> '"discard"'::jsonb, false)`;
        const candidates = await tx.execute<(Due & { expired: boolean })[]>(
          `select c.card_id, c.venue_id, r.postal_code, r.address, c.booking_number, null::text as task_id, ${expired} as expired
             from card c join card_resident r on r.card_id = c.card_id
            where c.route = 'pickup' and c.state = 'renotice_approved' and c.venue_id is not null and ${waiting} ${only}
            order by (${expired}) desc, c.received_at, c.card_id limit ?`,
          [input.today, ...onlyParam, input.today, input.quota + MAX_EXCLUSIONS],
        );
        for (const c of candidates.filter((x) => x.expired).slice(0, MAX_EXCLUSIONS)) exclusions.push({ cardId: c.card_id, reason: 'expired', proposed: false });
        due = candidates.filter((x) => !x.expired).slice(0, input.quota);
        // Residents removed from the register after their re-notice was approved (never mailed): their
        // discard proposal opens at once (the card's timer); listed so the office sees why they are missing.
        const removed = await tx.execute<{ card_id: string; proposed: boolean }[]>(
          `select c.card_id, 'discard' = any(c.proposal_kinds) as proposed from card c
            where c.route = 'pickup' and c.state = 'removed' and c.renoticed_at is null ${only}
              and not coalesce(c.snapshot->'rejected' @> '"discard"'::jsonb, false)
              and exists (select 1 from card_event e where e.card_id = c.card_id and e.type = 'approve_renotice')
              and not exists (select 1 from mail_batch_exclusion x where x.card_id = c.card_id)
            order by c.card_id limit ?`,
          [...onlyParam, MAX_EXCLUSIONS],
        );
        for (const c of removed) exclusions.push({ cardId: c.card_id, reason: 'removed', proposed: c.proposed });
      }
      if (due.length === 0 && exclusions.length === 0) return null;
      const cards = due.map((d) => ({ ...d, cardId: d.card_id, postalCode: d.postal_code, postOfficeId: input.postOfficeFor(d.postal_code) ?? input.postOfficeOrder[0] }));
      const sorted = sortForPost(cards, input.postOfficeOrder);
      const perOffice = new Map<string, number>();
      for (const c of sorted) perOffice.set(c.postOfficeId, (perOffice.get(c.postOfficeId) ?? 0) + 1);
      const day = input.today.replaceAll('-', '');
      const [{ n }] = await tx.execute<{ n: string }[]>(`select count(*) as n from mail_batch where id like ?`, [`B${day}-%`]);
      const id = `B${day}-${String(Number(n) + 1).padStart(3, '0')}`;
      // Nothing left to print (every approved card left out): the batch only records what it left out.
      await tx.execute(`insert into mail_batch (id, kind, quota, created_by, progress_total, status) values (?, ?, ?, ?, ?, ?)`, [
        id,
        input.kind,
        input.quota,
        input.by,
        sorted.length,
        sorted.length === 0 ? 'cancelled' : 'draft',
      ]);
      if (sorted.length > 0) {
        const values = sorted.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
        await tx.execute(
          `insert into mail_batch_item (batch_id, card_id, position, venue_id, post_office_id, envelope_class, booking_number, reissue_task_id) values ${values}`,
          sorted.flatMap((c, i) => [id, c.cardId, i + 1, c.venue_id, c.postOfficeId, envelopeClassFor(perOffice.get(c.postOfficeId)!), c.booking_number, c.task_id]),
        );
      }
      if (exclusions.length > 0) {
        await tx.execute(
          `insert into mail_batch_exclusion (batch_id, card_id, reason, proposed_at) values ${exclusions.map(() => `(?, ?, ?, ${'?'}::timestamptz)`).join(', ')}`,
          exclusions.flatMap((x) => [id, x.cardId, x.reason, x.proposed ? new Date().toISOString() : null]),
        );
      }
      return (await this.batchIn(tx, id))!;
    });
  }

  /** What a re-notice batch left out (R-6.2), with whether the discard proposal is raised. */
  async exclusions(batchId: string): Promise<ExclusionView[]> {
    const rows = await this.em.fork().execute(`select card_id, reason, proposed_at, error from mail_batch_exclusion where batch_id = ? order by card_id`, [batchId]);
    return rows.map((r) => ({ cardId: r.card_id, reason: r.reason, proposedAt: r.proposed_at ? new Date(r.proposed_at) : null, error: r.error }));
  }

  async setExclusionOutcome(batchId: string, cardId: string, error: string | null): Promise<void> {
    await this.em
      .fork()
      .execute(`update mail_batch_exclusion set proposed_at = case when ?::text is null then coalesce(proposed_at, now()) end, error = ? where batch_id = ? and card_id = ?`, [error, error?.slice(0, 500) ?? null, batchId, cardId]);
  }

  /**
   * Cards of the routes the ward mails itself (R-1.2, R-1.4) not yet handed to the ward: their notices
   * are pulled out and handed over with the cards (R-3.2). They never go into a mail batch.
   */
  async wardHandover(routes: readonly string[], limit: number): Promise<WardHandoverRow[]> {
    const rows = await this.em.fork().execute(
      `select c.card_id, c.route, c.state, c.received_at, r.name, r.name_kana, r.postal_code, r.address
         from card c join card_resident r on r.card_id = c.card_id
        where c.route = any(?::text[]) and c.state in ('received', 'inspected')
        order by c.received_at, c.card_id limit ?`,
      [`{${routes.join(',')}}`, limit],
    );
    return rows.map((r) => ({
      cardId: r.card_id,
      route: r.route,
      state: r.state,
      receivedAt: new Date(r.received_at),
      name: r.name,
      nameKana: r.name_kana,
      postalCode: r.postal_code,
      address: r.address,
    }));
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
    const rows = await this.em.fork().execute(
      `select ${ITEM_COLUMNS}, ${MOVED} and i.pulled_out_at is null and i.mailed_at is null as moved
         from mail_batch_item i join mail_batch b on b.id = i.batch_id join card c on c.card_id = i.card_id where i.batch_id = ? order by i.position`,
      [batchId],
    );
    return rows.map((r) => ({ ...itemView(r), moved: r.moved === true }));
  }

  /**
   * Pulls out the items whose card is no longer due for this mailing (removed from the register,
   * held, booked meanwhile): done before printing, so nothing is printed for them. Returns their ids.
   */
  async pullOutMoved(batchId: string): Promise<string[]> {
    const rows = await this.em.fork().execute<{ card_id: string }[]>(
      `update mail_batch_item i set pulled_out_at = now(), pulled_out_by = 'system'
         from mail_batch b, card c
        where b.id = i.batch_id and c.card_id = i.card_id and i.batch_id = ? and i.pulled_out_at is null and i.mailed_at is null and ${MOVED}
        returning i.card_id`,
      [batchId],
    );
    return rows.map((r) => r.card_id);
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

  /** Pulls a card out of a batch before it is mailed (R-3.6, R-7.6); false when it was not waiting in it. */
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

  /** Records an item mailed; a reissue's task is done with it (R-4.4). */
  async markMailed(batchId: string, cardId: string, by = 'system'): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      const [item] = await tx.execute<{ reissue_task_id: string | null }[]>(
        `update mail_batch_item set mailed_at = coalesce(mailed_at, now()) where batch_id = ? and card_id = ? returning reissue_task_id::text`,
        [batchId, cardId],
      );
      if (item?.reissue_task_id) await tx.execute(`update task set status = 'done', done_by = ?, done_at = now() where id = ? and status = 'open'`, [by, item.reissue_task_id]);
    });
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

  /** The documents mailed to a card: batch, kind, the page it is on, the file's SHA-256 (R-3.4). */
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
