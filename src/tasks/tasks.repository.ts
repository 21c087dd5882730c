/**
 * Tasks for people, raised by booking and the venues: a card to move to the venue it was booked at
 * (`transfer`, the office's list), a card to prepare for a short-notice booking (`prepare_card`, the
 * venue's list), a booking or card that does not match at the counter (`mismatch`, R-5.5). One open
 * task per kind and card: raising it again returns the open one.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';

export const TASK_KINDS = ['transfer', 'prepare_card', 'mismatch', 'reissue'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export interface TaskView {
  id: string;
  kind: TaskKind;
  cardId: string | null;
  /** The venue whose list shows the task; null for the office's list. */
  venueId: string | null;
  note: string | null;
  status: 'open' | 'done';
  createdBy: string;
  createdAt: Date;
  doneBy: string | null;
  doneAt: Date | null;
}

interface TaskRow {
  id: string;
  kind: TaskKind;
  card_id: string | null;
  venue_id: string | null;
  note: string | null;
  status: 'open' | 'done';
  created_by: string;
  created_at: Date;
  done_by: string | null;
  done_at: Date | null;
}

const view = (r: TaskRow): TaskView => ({
  id: String(r.id),
  kind: r.kind,
  cardId: r.card_id,
  venueId: r.venue_id,
  note: r.note,
  status: r.status,
  createdBy: r.created_by,
  createdAt: new Date(r.created_at),
  doneBy: r.done_by,
  doneAt: r.done_at ? new Date(r.done_at) : null,
});

@Injectable()
export class TasksRepository {
  constructor(private readonly em: EntityManager) {}

  /** Opens a task (or returns the open one of the same kind for the card). */
  async open(task: { kind: TaskKind; cardId: string | null; venueId: string | null; note?: string; createdBy: string }): Promise<TaskView> {
    const em = this.em.fork();
    const inserted = await em.execute<TaskRow[]>(
      `insert into task (kind, card_id, venue_id, note, created_by) values (?, ?, ?, ?, ?)
       on conflict (kind, card_id) where status = 'open' and card_id is not null do nothing returning *`,
      [task.kind, task.cardId, task.venueId, task.note ?? null, task.createdBy],
    );
    if (inserted[0]) return view(inserted[0]);
    const open = await em.execute<TaskRow[]>(`select * from task where kind = ? and card_id = ? and status = 'open'`, [task.kind, task.cardId]);
    return view(open[0]);
  }

  /** Open tasks on a list: a venue's (`venueId`), or the office's (`null`), oldest first. */
  async listOpen(venueId: string | null, limit = 200): Promise<TaskView[]> {
    const rows = await this.em
      .fork()
      .execute<TaskRow[]>(
        `select * from task where status = 'open' and venue_id is not distinct from ? order by created_at, id limit ?`,
        [venueId, limit],
      );
    return rows.map(view);
  }

  /** Open tasks of one card, any list. */
  async openForCard(cardId: string): Promise<TaskView[]> {
    const rows = await this.em.fork().execute<TaskRow[]>(`select * from task where status = 'open' and card_id = ? order by created_at, id`, [cardId]);
    return rows.map(view);
  }

  /** One task, open or done. */
  async get(id: string): Promise<TaskView | undefined> {
    const rows = await this.em.fork().execute<TaskRow[]>(`select * from task where id = ?`, [id]);
    return rows[0] ? view(rows[0]) : undefined;
  }

  /** Marks a task done; false when it was not open. */
  async complete(id: string, userId: string): Promise<boolean> {
    const rows = await this.em
      .fork()
      .execute<TaskRow[]>(`update task set status = 'done', done_by = ?, done_at = now() where id = ? and status = 'open' returning id`, [userId, id]);
    return rows.length > 0;
  }
}
