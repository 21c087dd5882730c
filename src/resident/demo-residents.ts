/**
 * Demo residents for `npm start`: pickup cards whose notice is prepared (so they hold a booking
 * number), written with their number and date of birth to `.data/demo-residents.json` and printed
 * beside the staff users, so that anyone can sign in at the residents' URL and book.
 */
import { writeFileSync } from 'node:fs';
import { openOrm } from '../database/database.js';
import type { StaffRole } from '../../workflows/card-state-machine.js';

export interface DemoResident {
  cardId: string;
  name: string;
  bookingNumber: string;
  birthDate: string;
  language: string;
}

const RESIDENTS = [
  { cardId: 'R0000001', language: 'ja', resident: { name: '江東 花子', nameKana: 'コウトウ ハナコ', birthDate: '1985-04-01', postalCode: '135-0016', address: '江東区東陽4-1-1', phone: '03-3647-0001' } },
  {
    cardId: 'R0000002',
    language: 'zh',
    resident: { name: 'WANG XIAOMEI', nameKana: 'ワン シャオメイ', alphabetName: 'WANG XIAOMEI', nameCategory: 'alphabet', nationality: '中国', birthDate: '1992-10-08', postalCode: '135-0061', address: '江東区豊洲3-2-1', phone: '03-3647-0002' },
  },
];

type Call = (method: string, path: string, role: StaffRole, body?: unknown, venueId?: string) => Promise<unknown>;

export async function loadDemoResidents(opts: { call: Call; databaseUrl: string; file: string; venueFor: (postalCode: string) => string | undefined }): Promise<DemoResident[]> {
  await opts.call('POST', '/api/cards', 'office', { cards: RESIDENTS.map((r) => ({ cardId: r.cardId, route: 'pickup', resident: r.resident })) });
  for (const r of RESIDENTS) {
    const venueId = opts.venueFor(r.resident.postalCode);
    for (const [action, role] of [['inspect', 'office'], ['ship_to_venue', 'office'], ['receive_at_venue', 'venue'], ['mail_notice', 'office']] as const) {
      await opts.call('POST', `/api/cards/${r.cardId}/actions/${action}`, role, {}, venueId);
    }
  }
  const orm = await openOrm(opts.databaseUrl);
  try {
    const rows = await orm.em.fork().execute<{ card_id: string; number: string }[]>(`select card_id, number from booking_number where card_id in (${RESIDENTS.map(() => '?').join(', ')})`, RESIDENTS.map((r) => r.cardId));
    const written = RESIDENTS.flatMap((r) => {
      const number = rows.find((x) => x.card_id === r.cardId)?.number;
      return number ? [{ cardId: r.cardId, name: r.resident.name, bookingNumber: number, birthDate: r.resident.birthDate, language: r.language }] : [];
    });
    writeFileSync(opts.file, JSON.stringify(written, null, 2) + '\n', { mode: 0o600 });
    return written;
  } finally {
    await orm.close();
  }
}
