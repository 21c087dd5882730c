/**
 * Walk-ins: a resident who comes without a booking is found by card or booking number and
 * booked on the spot into one of today's free slots at this venue, through `BookingService` (the
 * booker is the venue user at the counter), then checked in at once.
 */
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { BookingService } from '../booking/booking.service.js';
import { tokyoDate } from '../calendar/business-days.js';
import { CardsErrorCode, CardsException } from '../cards/cards.exception.js';
import { VenueScope } from '../cards/venue-scope.js';
import { safeRandomUUID } from '../common/my-number.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { FormErrorRenderers, errorsByField } from '../web/form-errors.js';
import type { PageError } from '../web/messages.js';
import { STATE_LABELS } from '../../workflows/card-state-machine.js';
import { VenueDeskRepository } from './venue-desk.repository.js';
import { CARD_ID, VENUE_ID, VENUE_ROLES } from './venue-pages.controller.js';

type WebRequest = Request & { web: WebSessionContext };

const lookupSchema = z.object({ q: z.string().trim().max(32).regex(/^[A-Za-z0-9-]*$/, 'カード番号か予約番号を英数字で入力してください').optional() });
const bookSchema = z.object({
  cardId: z.string().regex(CARD_ID),
  startsAt: z.iso.datetime({ offset: true, error: '予約する時間を選んでください' }),
  key: z.uuid(),
});

const hhmm = (iso: string) => format(new TZDate(Date.parse(iso), 'Asia/Tokyo'), 'HH:mm');

@ApiExcludeController()
@Controller('venues')
export class WalkInPagesController {
  constructor(
    private readonly desk: VenueDeskRepository,
    private readonly booking: BookingService,
    private readonly accessLog: AccessLogService,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
    forms: FormErrorRenderers,
  ) {
    forms.register(/^\/venues\/([a-z0-9_-]{1,30})\/walk-in$/, async ({ req, res, params: [venueId], status, errors, input }) => {
      if (status === 403) return false;
      const cardId = typeof input.cardId === 'string' && CARD_ID.test(input.cardId) ? input.cardId : undefined;
      await this.render(req as WebRequest, res, venueId, cardId, status, errors);
    });
  }

  @Get(':venueId/walk-in')
  @Allow(...VENUE_ROLES)
  async form(@Param('venueId') venueId: string, @Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const q = parseOrThrow(lookupSchema, query, 'query');
    await this.render(req, res, venueId, q.q || undefined, 200);
  }

  private async render(req: WebRequest, res: Response, venueId: string, q: string | undefined, status: number, errors?: PageError[]) {
    const venue = VENUE_ID.test(venueId) ? this.ward.venues.find((v) => v.id === venueId) : undefined;
    if (!venue) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no venue ${venueId.slice(0, 40)}`);
    const scope = VenueScope.of(req.web.user);
    this.desk.assertVenue(scope, venue.id);
    const card = q ? await this.desk.findCard(scope, venue.id, q) : undefined;
    if (card) await this.accessLog.record({ user: req.web.user, kind: 'read', cardIds: [card.cardId], detail: `venue walk-in lookup ${venue.id}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    const now = Date.now();
    const slots = card ? (await this.booking.freeSlots(venue.id, tokyoDate(), tokyoDate())).filter((s) => Date.parse(s.endsAt) > now) : [];
    const split = errors ? errorsByField(errors, []) : undefined;
    res.status(status).render('venue-walk-in', {
      title: `当日予約 ${venue.name}`,
      nav: 'venues',
      tab: 'walkin',
      web: req.web,
      venue,
      q: q ?? '',
      notFound: q !== undefined && !card,
      errors: split?.general ?? [],
      card: card ? { ...card, stateLabel: STATE_LABELS[card.state] ?? card.state, here: card.venueId === venue.id } : undefined,
      key: safeRandomUUID(),
      slots: slots.map((s, i) => ({ ...s, id: `slot-${i}`, label: `${hhmm(s.startsAt)}〜${hhmm(s.endsAt)}（空き${s.free}人）` })),
    });
  }

  @Post(':venueId/walk-in')
  @Allow(...VENUE_ROLES)
  async book(@Param('venueId') venueId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const venue = VENUE_ID.test(venueId) ? this.ward.venues.find((v) => v.id === venueId) : undefined;
    if (!venue) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no venue ${venueId.slice(0, 40)}`);
    const scope = VenueScope.of(req.web.user);
    this.desk.assertVenue(scope, venue.id);
    const input = parseOrThrow(bookSchema, body);
    // The access-log row is written with the key's fingerprint, before the booking is sent.
    const access = { channel: 'web' as const, ip: req.ip, requestId: String(req.id ?? ''), detail: `reserve (walk-in at ${venue.id})` };
    await this.booking.book(input.cardId, { venueId: venue.id, startsAt: new Date(input.startsAt).toISOString() }, { kind: 'staff', user: req.web.user, channel: 'counter', access }, input.key);
    // The resident is at the counter: checked in at once.
    await this.desk.checkIn(scope, venue.id, tokyoDate(), input.cardId, req.web.user.username);
    res.redirect(303, `/venues/${venue.id}?done=walkin#c-${input.cardId}`);
  }
}
