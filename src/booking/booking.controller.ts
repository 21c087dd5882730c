import { Controller, Get, Param, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow, type AuthUser, CurrentUser } from '../auth/auth.types.js';
import { ApiQueryFrom } from '../common/openapi.js';
import { boundedIsoDate, parseOrThrow } from '../common/zod-validation.js';
import { CardsService } from '../cards/cards.service.js';
import { venueIdSchema } from '../../workflows/text-rules.js';
import { BookingErrorCode, BookingException } from './booking.exception.js';
import { BookingService } from './booking.service.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
const cardIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/, 'must be a card id');
const slotDate = boundedIsoDate('2000-01-01', '2100-12-31').meta({ pattern: '^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' });
/** Free slots of a venue over at most 62 days. */
export const slotsQuerySchema = z.object({ from: slotDate, to: slotDate }).strict();
export const monthQuerySchema = z.object({ month: z.string().regex(/^20[0-9]{2}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM') }).strict();

@ApiTags('booking')
@ApiBearerAuth()
@Controller('api')
export class BookingController {
  constructor(
    private readonly booking: BookingService,
    private readonly cards: CardsService,
    private readonly accessLog: AccessLogService,
  ) {}

  @Get('cards/:cardId/booking')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor')
  @ApiOperation({ summary: "The card's current booking (venue, start, end, booking number), or null" })
  @ApiParam({ name: 'cardId', schema: json(cardIdSchema) })
  async current(@Param('cardId') cardId: string, @CurrentUser() user: AuthUser, @Req() req: Request) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    // The card's own read (venue scope, 404 for another venue's card).
    await this.cards.get(id, user);
    await this.accessLog.record({ user, kind: 'read', cardIds: [id], detail: 'booking', channel: 'api', ip: req.ip, requestId: String(req.id ?? '') });
    return { booking: await this.booking.currentBooking(id) };
  }

  @Get('venues/:venueId/free-slots')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor')
  @ApiOperation({ summary: 'Free slots of a venue between two Tokyo dates (inclusive, at most 62 days), earliest first' })
  @ApiParam({ name: 'venueId', schema: json(venueIdSchema) })
  @ApiQueryFrom(slotsQuerySchema)
  async slots(@Param('venueId') venueId: string, @Query() query: unknown) {
    const venue = parseOrThrow(venueIdSchema, venueId, 'venueId');
    this.cards.checkVenue(venue, 'venueId');
    const q = parseOrThrow(slotsQuerySchema, query, 'query');
    if (q.to < q.from || Date.parse(q.to) - Date.parse(q.from) > 62 * 86_400_000) {
      throw new BookingException(BookingErrorCode.BAD_RANGE, 'to must be on or after from, at most 62 days later');
    }
    return { items: await this.booking.freeSlots(venue, q.from, q.to) };
  }

  @Get('venues/:venueId/availability')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor')
  @ApiOperation({ summary: 'Per day of a month at a venue: free places (0 = full or closed)' })
  @ApiParam({ name: 'venueId', schema: json(venueIdSchema) })
  @ApiQueryFrom(monthQuerySchema)
  async availability(@Param('venueId') venueId: string, @Query() query: unknown) {
    const venue = parseOrThrow(venueIdSchema, venueId, 'venueId');
    this.cards.checkVenue(venue, 'venueId');
    const q = parseOrThrow(monthQuerySchema, query, 'query');
    return { days: await this.booking.monthAvailability(venue, q.month) };
  }
}
