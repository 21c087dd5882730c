/** Cards brought along the pickup path for the mailing tests: registered, at their venue, mailed. */
import { safeRandomUUID } from '../../src/common/my-number.js';
import { type TestSystem, aCard } from './test-system.js';

/** Venue users of this test file (files share the database, so user names are per file). */
const SUFFIX = safeRandomUUID().slice(0, 6);

export type MailStage = 'at_venue' | 'notice_mailed';

/** Registers pickup cards for `residents` and brings each to `stage` through the API; returns their ids. */
export async function pickupCards(sys: TestSystem, office: string, residents: Record<string, unknown>[], stage: MailStage): Promise<string[]> {
  const cards = residents.map((r) => aCard({}, r));
  const reg = await sys.http('POST', '/api/cards', { token: office, body: { cards } });
  if (reg.status !== 200) throw new Error(`registration: ${reg.status} ${JSON.stringify(reg.json)}`);
  for (const c of cards) {
    await act(sys, office, c.cardId, 'inspect');
    const shipped = await act(sys, office, c.cardId, 'ship_to_venue');
    const venueId = shipped.card.venueId as string;
    await act(sys, await sys.token('venue', `venue-flows-${venueId}-${SUFFIX}`, venueId), c.cardId, 'receive_at_venue');
    if (stage === 'notice_mailed') await act(sys, office, c.cardId, 'mail_notice');
  }
  return cards.map((c) => c.cardId);
}

/** One card action through the API (its own idempotency key); throws unless it is taken. */
export async function act(sys: TestSystem, token: string, cardId: string, action: string, body: { reason?: string; data?: Record<string, unknown> } = {}) {
  const res = await sys.http('POST', `/api/cards/${cardId}/actions/${action}`, { token, body, headers: { 'idempotency-key': `${action}-${cardId}-${Math.random().toString(36).slice(2)}` } });
  if (res.status !== 200) throw new Error(`${action} on ${cardId}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json as { card: Record<string, unknown> };
}

/** The card's state and open proposal kinds as the read model holds them. */
export async function cardRow(sys: TestSystem, cardId: string): Promise<{ state: string; proposal_kinds: string[] }> {
  const [row] = await sys.sql<{ state: string; proposal_kinds: string[] }>(`select state, proposal_kinds from card where card_id = ?`, [cardId]);
  return row;
}
