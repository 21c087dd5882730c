/**
 * Booking (issue 9, items 3, 4 and the contention tests of 8): slots claimed atomically through the
 * card's reserve Update, changes and cancellations releasing their slot, the booker's rules, and the
 * card's booking number.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { TestSystem, aCard, bookableStart } from './support/test-system.js';
import { BookingService } from '../src/booking/booking.service.js';
import { assignBookingNumber, dammDigit } from '../src/booking/booking-number.js';
import { addBusinessDays, tokyoDate } from '../src/calendar/business-days.js';
import { existsSync, writeFileSync } from 'node:fs';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { patchesIn } from '../src/worker/patches.js';
import { type CardWorkflowInput, PATCHES_AT_START, RESERVE_IN_ONE_TRANSACTION, cardWorkflowId } from '../workflows/card-messages.js';
import type { CardSnapshot } from '../workflows/card-state-machine.js';

describe('booking a pickup slot', () => {
  let sys: TestSystem;
  let office: string, venue: string, callcenter: string, toyosuVenue: string;
  beforeAll(async () => {
    sys = await TestSystem.start();
    [office, venue, callcenter, toyosuVenue] = await Promise.all([
      sys.token('office'),
      sys.token('venue'),
      sys.token('callcenter'),
      sys.token('venue', `venue-toyosu-${safeRandomUUID().slice(0, 6)}`, 'toyosu'),
    ]);
  });
  // RECORD_HISTORIES=1 saves these cards' histories for the replay test (never over a saved one).
  const recorded: Record<string, string> = {};
  afterAll(async () => {
    if (process.env.RECORD_HISTORIES === '1') {
      for (const [name, cardId] of Object.entries(recorded)) {
        const file = new URL(`./histories/${name}.json`, import.meta.url);
        if (!existsSync(file)) writeFileSync(file, historyToJSON(await sys.client.workflow.getHandle(cardWorkflowId(cardId)).fetchHistory()));
      }
    }
    await sys.stop();
  });

  const act = (cardId: string, token: string, action: string, body: unknown = {}, key = safeRandomUUID()) =>
    sys.http('POST', `/api/cards/${cardId}/actions/${action}`, { token, body, headers: { 'idempotency-key': key } });
  const must = async (cardId: string, token: string, action: string, body: unknown = {}) => {
    const res = await act(cardId, token, action, body);
    if (res.status !== 200) throw new Error(`${action} on ${cardId}: ${res.status} ${res.text}`);
    return res.json;
  };

  /** Cards registered (135-0016: the city hall venue) and received at their venue, `n` at a time in parallel. */
  async function cardsAtVenue(n: number): Promise<string[]> {
    const cards = Array.from({ length: n }, () => aCard());
    for (let i = 0; i < cards.length; i += 500) {
      const res = await sys.http('POST', '/api/cards', { token: office, body: { cards: cards.slice(i, i + 500) } });
      expect(res.status).toBe(200);
    }
    const ids = cards.map((c) => c.cardId as string);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < ids.length) {
          const id = ids[next++];
          await must(id, office, 'inspect');
          await must(id, office, 'ship_to_venue');
          await must(id, venue, 'receive_at_venue');
        }
      }),
    );
    return ids;
  }

  const slotRow = async (key: { venueId: string; startsAt: string }) =>
    (await sys.sql<{ booked: number; capacity: number }>(`select booked, capacity from slot where venue_id = ? and starts_at = ?`, [key.venueId, key.startsAt]))[0];
  /** The activity types of a history's local activities, in order. */
  const localActivities = (history: Awaited<ReturnType<ReturnType<typeof sys.client.workflow.getHandle>['fetchHistory']>>) =>
    (history.events ?? []).flatMap((e) => {
      const m = e.markerRecordedEventAttributes;
      const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0] : undefined;
      return data ? [defaultPayloadConverter.fromPayload<{ activity_type: string }>(data).activity_type] : [];
    });
  const active = async (cardId: string) =>
    sys.sql<{ venue_id: string; starts_at: Date; booking_number: string }>(`select venue_id, starts_at, booking_number from booking where card_id = ? and status = 'booked'`, [cardId]);

  it('200 parallel bookings on a slot of 5 give exactly 5 bookings and 195 SLOT_FULL refusals with the nearest free slots', async () => {
    const ids = await cardsAtVenue(200);
    const hot = await sys.slot('kuyakusho', bookableStart(7, '09:05'), 30 * 60_000, 5);
    const others = [await sys.slot('kuyakusho', bookableStart(7, '09:35')), await sys.slot('kuyakusho', bookableStart(7, '10:05'))];
    const answers = await Promise.all(ids.map((id) => act(id, callcenter, 'reserve', { data: hot })));
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(ok).toHaveLength(5);
    expect(refused).toHaveLength(195);
    for (const r of refused) {
      expect(r.status).toBe(409);
      expect(r.json.error.code).toBe('SLOT_FULL');
      const nearest = r.json.error.details.nearest as { startsAt: string; free: number }[];
      expect(nearest.length).toBeGreaterThan(0);
      expect(nearest.map((s) => s.startsAt)).not.toContain(hot.startsAt);
      // The nearest free slots by time (the calendar's own slots of that day among them).
      expect(nearest.map((s) => s.startsAt)).toContain(others[0].startsAt);
      for (const s of nearest) expect(Math.abs(Date.parse(s.startsAt) - Date.parse(hot.startsAt))).toBeLessThanOrEqual(3 * 3_600_000);
    }
    expect(await slotRow(hot)).toEqual({ booked: 5, capacity: 5 });
    const rows = await sys.sql<{ n: string }>(`select count(*) as n from booking where venue_id = ? and starts_at = ? and status = 'booked'`, [hot.venueId, hot.startsAt]);
    expect(Number(rows[0].n)).toBe(5);
    // The cards refused are as they were (at the venue, no booking).
    const states = await sys.sql<{ state: string; n: string }>(`select state, count(*) as n from card where card_id in (?) group by state order by state`, [ids]);
    expect(states.map((s) => [s.state, Number(s.n)])).toEqual([
      ['at_venue', 195],
      ['reserved', 5],
    ]);
    // The access log: an attempt's row for every booking sent to a card, and for those the card's
    // claim refused, a second row with the refusal (those refused by the pre-check were never sent).
    const logged = await sys.sql<{ card: string; detail: string }>(`select card_ids[1] as card, detail from access_log where kind = 'change' and detail like 'reserve%' and card_ids[1] = any(?::text[])`, [`{${ids.join(',')}}`]);
    const reserved = new Set((await sys.sql<{ card_id: string }>(`select card_id from card where card_id = any(?::text[]) and state = 'reserved'`, [`{${ids.join(',')}}`])).map((r) => r.card_id));
    const attempts = new Set(logged.filter((r) => r.detail === 'reserve').map((r) => r.card));
    const refusedByClaim = new Set(logged.filter((r) => r.detail === 'reserve: refused (SLOT_FULL)').map((r) => r.card));
    expect([...new Set(logged.map((r) => r.detail))].sort()).toEqual(['reserve', 'reserve: refused (SLOT_FULL)']);
    expect(refusedByClaim.size).toBeGreaterThan(0);
    expect([...attempts].sort()).toEqual([...reserved, ...refusedByClaim].sort());
  });

  it('50 parallel bookings of one card (different keys) leave it one active booking, and every slot counts only it', async () => {
    const [id] = await cardsAtVenue(1);
    const slots = await Promise.all([0, 30, 60, 90, 120].map((m) => sys.slot('kuyakusho', bookableStart(8, '13:05', m), 30 * 60_000, 100)));
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => act(id, callcenter, 'reserve', { data: slots[i % 5] })));
    expect(answers.filter((a) => a.status !== 200).map((a) => a.text)).toEqual([]);
    expect(await active(id)).toHaveLength(1);
    const booked = await Promise.all(slots.map(slotRow));
    expect(booked.reduce((n, s) => n + s.booked, 0)).toBe(1);
    // The one it holds is the one the card says it holds, under the card's one booking number.
    const card = (await sys.http('GET', `/api/cards/${id}`, { token: office })).json;
    const [row] = await active(id);
    expect(new Date(row.starts_at).toISOString()).toBe(card.booking.startsAt);
    expect(new Set(answers.map((a) => a.json.card.booking.bookingNumber))).toEqual(new Set([card.card.bookingNumber]));
  });

  it('gives the card its booking number when it reaches the venue, keeps it through a change, releases the old slot, and opens a transfer task for another venue', async () => {
    const [id] = await cardsAtVenue(1);
    const before = (await sys.http('GET', `/api/cards/${id}`, { token: office })).json.card;
    expect(before.bookingNumber).toMatch(/^[1-9][0-9]{9}$/);
    expect(dammDigit(before.bookingNumber)).toBe(0);
    const first = await sys.slot('kuyakusho', bookableStart(9, '11:05'));
    const second = await sys.slot('toyosu', bookableStart(10, '11:05'));
    const booked = await must(id, callcenter, 'reserve', { data: first });
    expect(booked.card.booking).toMatchObject({ bookingNumber: before.bookingNumber, venueId: 'kuyakusho', startsAt: first.startsAt });
    expect((await slotRow(first)).booked).toBe(1);
    expect((await sys.sql(`select 1 from task where card_id = ? and status = 'open'`, [id])).length).toBe(0);

    const changed = await must(id, callcenter, 'reserve', { data: second });
    expect(changed.card).toMatchObject({ state: 'reserved', venueId: 'toyosu', bookedFrom: 'at_venue' });
    expect(changed.card.booking).toMatchObject({ bookingNumber: before.bookingNumber, venueId: 'toyosu', startsAt: second.startsAt });
    expect(changed.events[0].data.changedFrom).toEqual({ venueId: 'kuyakusho', startsAt: first.startsAt });
    expect((await slotRow(first)).booked).toBe(0);
    expect((await slotRow(second)).booked).toBe(1);
    const rows = await sys.sql<{ status: string; venue_id: string }>(`select status, venue_id from booking where card_id = ? order by id`, [id]);
    expect(rows).toEqual([
      { status: 'changed', venue_id: 'kuyakusho' },
      { status: 'booked', venue_id: 'toyosu' },
    ]);
    // The card must move: a transfer task on the office's list.
    const tasks = await sys.sql<{ kind: string; venue_id: string | null }>(`select kind, venue_id from task where card_id = ? and status = 'open'`, [id]);
    expect(tasks).toEqual([{ kind: 'transfer', venue_id: null }]);
    // The read model and the booking endpoint say the same.
    const current = await sys.http('GET', `/api/cards/${id}/booking`, { token: office });
    expect(current.json).toEqual({ booking: { bookingNumber: before.bookingNumber, venueId: 'toyosu', startsAt: second.startsAt, endsAt: new Date(Date.parse(second.startsAt) + 1_800_000).toISOString() } });
    // Now toyosu's card: toyosu's staff see it; the city hall's do not.
    expect((await sys.http('GET', `/api/cards/${id}`, { token: toyosuVenue })).status).toBe(200);
    expect((await sys.http('GET', `/api/cards/${id}`, { token: venue })).status).toBe(404);
  });

  it('claims the place and records the reservation in one local activity, one transaction (a change too)', async () => {
    const [id] = await cardsAtVenue(1);
    const first = await sys.slot('kuyakusho', bookableStart(12, '10:05'));
    const second = await sys.slot('kuyakusho', bookableStart(12, '11:05'));
    const booked = await must(id, callcenter, 'reserve', { data: first });
    await must(id, callcenter, 'reserve', { data: second });
    recorded['reserve-one-transaction'] = id;
    const history = await sys.client.workflow.getHandle(cardWorkflowId(id)).fetchHistory();
    // inspect, ship_to_venue, receive_at_venue: a projection each; each reservation: one activity.
    expect(localActivities(history)).toEqual(['projectCard', 'projectCard', 'projectCard', 'reserveCard', 'reserveCard']);
    // A new card declares the patch in its input: no marker for it.
    expect([...patchesIn(history)].sort()).toEqual([...PATCHES_AT_START].sort());
    expect((history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toEqual([]);
    // What the transaction recorded is what the workflow took: the row's snapshot is the card's state.
    const [row] = await sys.sql<{ snapshot: unknown; state: string; seq: number }>(`select snapshot, state, seq from card where card_id = ?`, [id]);
    const state = await sys.client.workflow.getHandle(cardWorkflowId(id)).query<{ seq: number }>('card');
    expect(row.snapshot).toEqual(state);
    expect([row.state, Number(row.seq)]).toEqual(['reserved', booked.card.seq + 1]);
    expect([(await slotRow(first)).booked, (await slotRow(second)).booked]).toEqual([0, 1]);
    expect(await sys.sql(`select status from booking where card_id = ? order by id`, [id])).toEqual([{ status: 'changed' }, { status: 'booked' }]);
  });

  it('changes crossing between two slots at once never deadlock: every claim goes through at its first attempt', async () => {
    const ids = await cardsAtVenue(40);
    const a = await sys.slot('kuyakusho', bookableStart(12, '14:05'), 30 * 60_000, 40);
    const b = await sys.slot('kuyakusho', bookableStart(12, '14:35'), 30 * 60_000, 40);
    // Half the cards in each slot, then every card moves to the other slot, all at once, twice.
    await Promise.all(ids.map((id, i) => must(id, callcenter, 'reserve', { data: i % 2 ? a : b })));
    for (const round of [0, 1]) await Promise.all(ids.map((id, i) => must(id, callcenter, 'reserve', { data: (i + round) % 2 ? b : a })));
    expect([(await slotRow(a)).booked, (await slotRow(b)).booked]).toEqual([20, 20]);
    // A claim PostgreSQL ended as a deadlock would have been attempted again (after a second's wait).
    const attempts = await Promise.all(
      ids.map(async (id) =>
        ((await sys.client.workflow.getHandle(cardWorkflowId(id)).fetchHistory()).events ?? []).flatMap((e) => {
          const data = e.markerRecordedEventAttributes?.markerName === 'core_local_activity' ? e.markerRecordedEventAttributes.details?.data?.payloads?.[0] : undefined;
          return data ? [defaultPayloadConverter.fromPayload<{ attempt: number }>(data).attempt] : [];
        }),
      ),
    );
    expect(attempts.flat().filter((n) => n !== 1)).toEqual([]);
  });

  it('a card whose run started before the one-transaction patch takes it at its next reservation, with a marker', async () => {
    const [id] = await cardsAtVenue(1);
    const handle = sys.client.workflow.getHandle(cardWorkflowId(id));
    // The same card in a run started before the patch: its input declares only the older one.
    const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const input = defaultPayloadConverter.fromPayload<CardWorkflowInput>(started!);
    const card = await handle.query<CardSnapshot>('card');
    await handle.terminate('test: the card continues in a run started before the patch');
    await sys.client.workflow.start('cardWorkflow', {
      taskQueue: sys.taskQueue,
      workflowId: cardWorkflowId(id),
      args: [{ ...input, projectedAt: undefined, patchesAtStart: ['bounded-projection'], resume: card }],
    });
    const slot = await sys.slot('kuyakusho', bookableStart(12, '13:05'));
    await must(id, callcenter, 'reserve', { data: slot });
    recorded['reserve-patched-at-reservation'] = id;
    const history = await handle.fetchHistory();
    expect([...patchesIn(history)].sort()).toEqual(['bounded-projection', RESERVE_IN_ONE_TRANSACTION]);
    expect((history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toHaveLength(1);
    expect(localActivities(history)).toEqual(['reserveCard']);
    expect((await slotRow(slot)).booked).toBe(1);
    expect((await active(id)).map((b) => new Date(b.starts_at).toISOString())).toEqual([slot.startsAt]);
  });

  it('cancel releases the slot; the card keeps its booking number', async () => {
    const [id] = await cardsAtVenue(1);
    const slot = await sys.slot('kuyakusho', bookableStart(9, '15:05'));
    const booked = await must(id, callcenter, 'reserve', { data: slot });
    expect((await slotRow(slot)).booked).toBe(1);
    const cancelled = await must(id, callcenter, 'cancel_reservation');
    expect(cancelled.card).toMatchObject({ state: 'at_venue' });
    expect(cancelled.card.booking).toBeUndefined();
    expect((await slotRow(slot)).booked).toBe(0);
    expect(await active(id)).toEqual([]);
    expect((await sys.sql(`select status from booking where card_id = ?`, [id]))[0].status).toBe('cancelled');
    const card = (await sys.http('GET', `/api/cards/${id}`, { token: office })).json.card;
    expect(card.bookingNumber).toBe(booked.card.booking.bookingNumber);
    expect((await sys.http('GET', `/api/cards/${id}/booking`, { token: office })).json).toEqual({ booking: null });
  });

  it('refuses a day before the earliest (4 business days) with TOO_SOON; the call center books sooner only for a card at that venue, and the venue gets a task', async () => {
    const booking = sys.app.get(BookingService);
    const [atVenue] = await cardsAtVenue(1);
    const number = (await sys.http('GET', `/api/cards/${atVenue}`, { token: office })).json.card.bookingNumber as string;
    const earliest = addBusinessDays(tokyoDate(), 4);
    const tomorrow = new Date(Date.now() + 86_400_000);
    const soon = await sys.slot('kuyakusho', tomorrow, 30 * 60_000, 2);
    const soonElsewhere = await sys.slot('oshima', tomorrow, 30 * 60_000, 2);
    const onTime = await sys.slot('kuyakusho', new Date(`${earliest}T16:00:00+09:00`));
    // A resident: only from the earliest day.
    const resident = { kind: 'resident' as const, bookingNumber: number, channel: 'resident-web' as const };
    await expect(booking.book(atVenue, soon, resident, safeRandomUUID())).rejects.toMatchObject({ code: 'TOO_SOON', details: { earliest } });
    // Another card's number is not this card's.
    await expect(booking.book(atVenue, onTime, { ...resident, bookingNumber: '1000000000' }, safeRandomUUID())).rejects.toMatchObject({ code: 'CARD_NOT_BOOKABLE' });
    const byResident = await booking.book(atVenue, onTime, resident, safeRandomUUID());
    expect(byResident.events[0].actor).toEqual({ userId: `resident:${number}`, role: 'resident', channel: 'resident-web' });
    await must(atVenue, callcenter, 'cancel_reservation');
    // Over HTTP: a venue's staff book today only (walk-ins), not tomorrow.
    const venueSoon = await act(atVenue, venue, 'reserve', { data: soon });
    expect([venueSoon.status, venueSoon.json.error.code]).toEqual([422, 'TOO_SOON']);
    // The call center, another venue than the card's, short notice: refused.
    const elsewhere = await act(atVenue, callcenter, 'reserve', { data: soonElsewhere });
    expect([elsewhere.status, elsewhere.json.error.code]).toEqual([409, 'CARD_NOT_AT_VENUE']);
    expect(elsewhere.json.error.details.earliest).toBe(earliest);
    // A card not yet at its venue (shipped only): refused too.
    const shipped = aCard();
    await sys.http('POST', '/api/cards', { token: office, body: shipped });
    await must(shipped.cardId as string, office, 'inspect');
    await must(shipped.cardId as string, office, 'ship_to_venue');
    expect((await sys.sql(`select count(*)::int as n from task where card_id = ?`, [shipped.cardId]))[0].n).toBe(0);
    // The card at that venue, the slot with room: booked, and the venue must prepare the card.
    const short = await must(atVenue, callcenter, 'reserve', { data: soon });
    expect(short.card.booking).toMatchObject({ venueId: 'kuyakusho', startsAt: soon.startsAt });
    const tasks = await sys.sql<{ kind: string; venue_id: string | null }>(`select kind, venue_id from task where card_id = ? and status = 'open'`, [atVenue]);
    expect(tasks).toEqual([{ kind: 'prepare_card', venue_id: 'kuyakusho' }]);
    // A full slot is refused at short notice as at any time.
    const [other, third] = await cardsAtVenue(2);
    await must(other, callcenter, 'reserve', { data: soon });
    const full = await act(third, callcenter, 'reserve', { data: soon });
    expect([full.status, full.json.error.code]).toEqual([409, 'SLOT_FULL']);
  });

  it('a change the database does not record leaves the booking with the card: its old slot, held; the new claim is voided at its next recorded change', async () => {
    const poison = `test_poison_${safeRandomUUID().slice(0, 8)}`;
    await sys.ownerSql(`create table ${poison} (card_id text not null, type text not null)`);
    await sys.ownerSql(
      `create function ${poison}_fn() returns trigger language plpgsql as $$
       begin
         if exists (select 1 from ${poison} p where p.card_id = new.card_id and p.type = new.type) then raise exception 'refused for a test' using errcode = '22023'; end if;
         return new;
       end $$`,
    );
    await sys.ownerSql(`create trigger ${poison}_trg before insert on card_event for each row execute function ${poison}_fn()`);
    try {
      const [id] = await cardsAtVenue(1);
      const first = await sys.slot('kuyakusho', bookableStart(11, '10:05'));
      const second = await sys.slot('kuyakusho', bookableStart(11, '11:05'));
      await must(id, callcenter, 'reserve', { data: first });
      await sys.sql(`insert into ${poison} (card_id, type) values (?, 'reserve')`, [id]);
      const refused = await act(id, callcenter, 'reserve', { data: second });
      expect([refused.status, refused.json.error.code]).toEqual([422, 'CHANGE_REFUSED']);
      // The claim was in the refused change's transaction: the new slot never counted it.
      expect((await slotRow(second)).booked).toBe(0);
      // The card still holds the first slot, and so does the booking table: its place is kept.
      const card = (await sys.http('GET', `/api/cards/${id}`, { token: office })).json;
      expect(card.booking.startsAt).toBe(first.startsAt);
      expect((await slotRow(first)).booked).toBe(1);
      await sys.sql(`delete from ${poison} where card_id = ?`, [id]);
      // The card's next recorded change puts the booking table back in line with it.
      await must(id, office, 'pull_out', { reason: '区の指示' });
      expect((await active(id)).map((b) => new Date(b.starts_at).toISOString())).toEqual([first.startsAt]);
      expect((await slotRow(first)).booked).toBe(1);
      expect((await slotRow(second)).booked).toBe(0);
    } finally {
      await sys.ownerSql(`drop trigger if exists ${poison}_trg on card_event`);
      await sys.ownerSql(`drop function if exists ${poison}_fn()`);
      await sys.ownerSql(`drop table if exists ${poison}`);
    }
  });

  it('refuses an unknown slot, a slot key the schema does not take, a role that may not book and another venue\'s card', async () => {
    const [id] = await cardsAtVenue(1);
    const soon = await sys.slot('kuyakusho', new Date(Date.now() + 86_400_000), 30 * 60_000, 2);
    const byOffice = await act(id, office, 'reserve', { data: soon });
    expect([byOffice.status, byOffice.json.error.code]).toEqual([403, 'FORBIDDEN']);
    const byOtherVenue = await act(id, toyosuVenue, 'reserve', { data: soon });
    expect([byOtherVenue.status, byOtherVenue.json.error.code]).toEqual([404, 'CARD_NOT_FOUND']);
    const none = await act(id, callcenter, 'reserve', { data: { venueId: 'kuyakusho', startsAt: '2031-01-06T09:07:00+09:00' } });
    expect([none.status, none.json.error.code]).toEqual([404, 'SLOT_NOT_FOUND']);
    const endsAt = await act(id, callcenter, 'reserve', { data: { venueId: 'kuyakusho', startsAt: '2031-01-06T09:00:00+09:00', endsAt: '2031-01-06T09:30:00+09:00' } });
    expect([endsAt.status, endsAt.json.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const venueless = await act(id, callcenter, 'reserve', { data: { startsAt: '2031-01-06T09:00:00+09:00' } });
    expect([venueless.status, venueless.json.error.details.fields[0].field]).toEqual([400, 'data.venueId']);
  });

  it('lists free slots and a month of availability', async () => {
    // Beyond the calendar's 90-day horizon: the day holds only this test's slots.
    const day = addBusinessDays(tokyoDate(), 80);
    const a = await sys.slot('oshima', new Date(`${day}T09:00:00+09:00`), 30 * 60_000, 3);
    await sys.slot('oshima', new Date(`${day}T09:30:00+09:00`), 30 * 60_000, 0);
    const free = await sys.http('GET', `/api/venues/oshima/free-slots?from=${day}&to=${day}`, { token: callcenter });
    expect(free.status).toBe(200);
    expect(free.json.items.map((s: { startsAt: string; free: number }) => [s.startsAt, s.free])).toEqual([[a.startsAt, 3]]);
    const month = await sys.http('GET', `/api/venues/oshima/availability?month=${day.slice(0, 7)}`, { token: callcenter });
    expect(month.status).toBe(200);
    expect(month.json.days.find((d: { date: string }) => d.date === day)).toEqual({ date: day, free: 3, open: true });
    expect(month.json.days.length).toBeGreaterThanOrEqual(28);
    expect((await sys.http('GET', `/api/venues/oshima/availability?month=2031-13`, { token: callcenter })).status).toBe(400);
    expect((await sys.http('GET', `/api/venues/nowhere/free-slots?from=${day}&to=${day}`, { token: callcenter })).status).toBe(400);
  });
});

describe('booking numbers', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await TestSystem.start();
  });
  afterAll(async () => {
    await sys.stop();
  });

  it('never gives a card a number already known, the previous vendor\'s included: a drawn number that exists is drawn again', async () => {
    const legacy = `${Date.now()}`.slice(-9);
    const legacyNumber = `${legacy}${dammDigit(legacy)}`;
    const ours = `${(Number(legacy) + 1) % 1e9}`.padStart(9, '1');
    const oursNumber = `${ours}${dammDigit(ours)}`;
    await sys.sql(`insert into booking_number (number, card_id, source) values (?, null, 'legacy'), (?, ?, 'ours') on conflict do nothing`, [legacyNumber, oursNumber, `X${safeRandomUUID().slice(0, 8)}`]);
    const fresh = '2718281828';
    const draws = [legacyNumber, oursNumber, fresh];
    const cardId = `N${safeRandomUUID().slice(0, 8)}`;
    const em = sys.orm.em.fork();
    const got = await em.transactional((tx) => assignBookingNumber(tx, cardId, () => draws.shift()!));
    expect(got).toBe(fresh);
    expect(draws).toEqual([]);
    const rows = await sys.sql<{ number: string; card_id: string | null; source: string }>(`select number, card_id, source from booking_number where number in (?, ?) order by number`, [legacyNumber, fresh]);
    expect(rows).toEqual(
      [
        { number: legacyNumber, card_id: null, source: 'legacy' },
        { number: fresh, card_id: cardId, source: 'ours' },
      ].sort((x, y) => x.number.localeCompare(y.number)),
    );
    // Asked again, the card keeps its number and draws nothing.
    expect(await sys.orm.em.fork().transactional((tx) => assignBookingNumber(tx, cardId, () => { throw new Error('drew again'); }))).toBe(fresh);
  });
});
