/**
 * Fills the residents' search keys (`card_resident.search_*`) where they are missing, in keyset
 * batches, with the same functions registration uses. Run by the migration that added the columns
 * (over every resident then) and by the benchmarks' seeding (residents written straight in SQL).
 */
import { residentKeys } from './search-keys.js';

type Execute = (sql: string, params: unknown[]) => Promise<unknown[]>;

/** Residents keyed per statement. */
const BATCH = 5000;

/** Returns how many residents it filled. */
export async function backfillSearchKeys(execute: Execute): Promise<number> {
  let after = '';
  let filled = 0;
  for (;;) {
    const rows = (await execute(
      `select card_id, name, name_kana, address, phone from card_resident where card_id > ? and search_kana is null order by card_id limit ${BATCH}`,
      [after],
    )) as { card_id: string; name: string; name_kana: string; address: string; phone: string | null }[];
    if (rows.length === 0) return filled;
    const keys = rows.map((r) => ({ id: r.card_id, ...residentKeys({ name: r.name, nameKana: r.name_kana, address: r.address, phone: r.phone }) }));
    await execute(
      `update card_resident r set search_name = x."searchName", search_kana = x."searchKana", search_address = x."searchAddress", search_phone = x."searchPhone"
         from jsonb_to_recordset(?::jsonb) as x(id text, "searchName" text, "searchKana" text, "searchAddress" text, "searchPhone" text) where r.card_id = x.id`,
      [JSON.stringify(keys)],
    );
    filled += rows.length;
    after = rows[rows.length - 1].card_id;
  }
}
