/** The workflow's snapshot and events as the API shows them: instants as ISO strings, like the read model. */
import type { CardActionResult } from '../../workflows/card-messages.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function presentActionResult(r: CardActionResult) {
  const c = r.card;
  return {
    card: {
      ...c,
      receivedAt: iso(c.receivedAt),
      noticeMailedAt: iso(c.noticeMailedAt),
      renoticedAt: iso(c.renoticedAt),
      issuedAt: iso(c.issuedAt),
      closedAt: iso(c.closedAt),
      proposals: c.proposals.map((p) => ({ ...p, openedAt: iso(p.openedAt) })),
    },
    events: r.events.map((e) => ({ ...e, at: iso(e.at) })),
  };
}
