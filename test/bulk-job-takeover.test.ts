/**
 * A bulk worklist job whose API process was killed (no clean shutdown: its claim stays, its heartbeat
 * stops) is taken over by a live API process within about half a minute, without a restart, and each
 * card is changed once; a job whose owner still renews its claim is left alone.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

describe('bulk job of a killed API process', () => {
  let sys: TestSystem;
  let office: string;
  const wardName = `ward-${safeRandomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    sys = await TestSystem.start({ policy: { renoticeAfterMs: 1000 } });
    office = await sys.token('office');
    await sys.token('ward', wardName);
  });
  afterAll(() => sys.stop());

  it('is taken over and finished by a running API; a job still owned elsewhere is not', async () => {
    const card = aCard({ route: 'pickup' });
    expect((await sys.http('POST', '/api/cards', { token: office, body: card })).status).toBeLessThan(300);
    await eventually(async () => (await sys.sql(`select 1 from card where card_id = ?`, [card.cardId]))[0], 20_000, 'registered');
    for (const action of ['inspect', 'ship_to_venue', 'receive_at_venue', 'mail_notice']) {
      expect((await sys.http('POST', `/api/cards/${card.cardId}/actions/${action}`, { token: office, body: {} })).status).toBe(200);
    }
    await eventually(async () => (await sys.sql(`select 1 from card where card_id = ? and 'renotice' = any(proposal_kinds)`, [card.cardId]))[0], 20_000, 'renotice proposal');
    const [ward] = await sys.sql<{ id: string }>(`select id from app_user where username = ?`, [wardName]);
    const insert = (claimedBy: string, heartbeatAgo: string) =>
      sys.sql<{ id: string }>(
        `insert into bulk_job (job_key, user_id, username, role, action, card_ids, claimed_by, heartbeat_at)
         values (?, ?, ?, 'ward', 'approve_renotice', ?::text[], ?, now() - ?::interval) returning id`,
        [safeRandomUUID(), ward.id, wardName, `{${card.cardId}}`, claimedBy, heartbeatAgo],
      );
    // Claimed by an API process that was killed a minute ago, and by one that is alive (fresh heartbeat).
    const [killed] = await insert(`killed-${safeRandomUUID()}`, '1 minute');
    const [alive] = await insert(`alive-${safeRandomUUID()}`, '0 seconds');
    try {
      const job = await eventually(
        async () => (await sys.sql(`select status, done, failed, claimed_by from bulk_job where id = ? and status = 'finished'`, [killed.id]))[0],
        30_000,
        'the killed process’s job to finish',
      );
      expect(job).toMatchObject({ done: 1, failed: 0 });
      expect(job.claimed_by).not.toMatch(/^killed-/);
      const events = await sys.sql(`select seq from card_event where card_id = ? and type = 'approve_renotice'`, [card.cardId]);
      expect(events).toHaveLength(1);
      const [other] = await sys.sql(`select status, claimed_by from bulk_job where id = ?`, [alive.id]);
      expect(other).toMatchObject({ status: 'running', claimed_by: expect.stringMatching(/^alive-/) });
    } finally {
      // Leave nothing running for the API processes of other test files to take over.
      await sys.sql(`update bulk_job set status = 'finished', finished_at = now() where id = ?`, [alive.id]);
    }
  }, 90_000);
});
