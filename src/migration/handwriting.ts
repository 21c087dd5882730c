/** A migrated card's hand-writing items (characters the old data could not carry), for the card page. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { FIELD_LABELS } from './parser.js';

export interface HandwritingView {
  field: string;
  fieldLabel: string;
  position: number;
  source: string;
  note: string;
}

export async function cardHandwriting(em: EntityManager, cardId: string): Promise<HandwritingView[]> {
  const rows = await em.fork().execute<{ field: string; position: number; source: string; note: string }[]>(
    `select field, position, source, note from card_handwriting where card_id = ? order by field, position`,
    [cardId],
  );
  return rows.map((r) => ({ ...r, position: Number(r.position), fieldLabel: FIELD_LABELS[r.field as keyof typeof FIELD_LABELS] ?? r.field }));
}
