import { TestSystem, aCard, bookableStart } from './support/test-system.js';

describe('the pickup path over HTTP', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await TestSystem.start();
  });
  afterAll(async () => {
    await sys.stop();
  });

  it('walks a card from receipt to issuance through the API', async () => {
    const office = await sys.token('office');
    const venue = await sys.token('venue');
    const callcenter = await sys.token('callcenter');
    const card = aCard();
    const reg = await sys.http('POST', '/api/cards', { token: office, body: card });
    expect(reg.status).toBe(200);
    expect(reg.json).toEqual({ cardId: card.cardId, status: 'created' });

    const act = (token: string, action: string, body: unknown = {}) =>
      sys.http('POST', `/api/cards/${card.cardId}/actions/${action}`, { token, body, headers: { 'idempotency-key': `${action}-1` } });
    expect((await act(office, 'inspect')).status).toBe(200);
    const shipped = await act(office, 'ship_to_venue');
    expect(shipped.status).toBe(200);
    // 135-0016 (東陽) is allocated to the city hall venue by the default 別紙② data.
    expect(shipped.json.card.venueId).toBe('kuyakusho');
    expect((await act(venue, 'receive_at_venue')).status).toBe(200);
    expect((await act(office, 'mail_notice')).status).toBe(200);
    const slot = await sys.slot('kuyakusho', bookableStart(6, '10:00', Math.floor(Math.random() * 400)));
    const reserved = await act(callcenter, 'reserve', { data: slot });
    expect(reserved.status).toBe(200);
    expect(reserved.json.card.state).toBe('reserved');
    // The card's own booking number, given when it reached the venue (ten digits, Damm check digit).
    expect(reserved.json.card.booking.bookingNumber).toMatch(/^[1-9]\d{9}$/);
    const issued = await act(venue, 'issue');
    expect(issued.status).toBe(200);
    expect(issued.json.card.state).toBe('issued');

    const detail = await sys.http('GET', `/api/cards/${card.cardId}`, { token: office });
    expect(detail.status).toBe(200);
    expect(detail.json.card.state).toBe('issued');
    expect(detail.json.timeline.map((e: { type: string }) => e.type)).toEqual([
      'registered', 'inspect', 'ship_to_venue', 'receive_at_venue', 'mail_notice', 'reserve', 'issue',
    ]);
    expect(detail.json.allowedActions).toEqual([]);
  });
});
