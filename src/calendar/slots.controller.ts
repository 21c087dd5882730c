/** `GET /api/venues/{venueId}/slots`: a venue's slots with capacity, booked and free places, for staff. */
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Allow } from '../auth/auth.types.js';
import { ApiQueryFrom, jsonSchemaOf } from '../common/openapi.js';
import { boundedIsoDate, parseOrThrow } from '../common/zod-validation.js';
import { venueIdSchema } from '../../workflows/text-rules.js';
import { SlotsService } from './slots.service.js';

/** Longest range one request reads (a quarter, as the month pages need at most 31 days). */
export const MAX_RANGE_DAYS = 93;

export const slotsQuerySchema = z
  .object({
    from: boundedIsoDate('2000-01-01', '2100-12-31'),
    to: boundedIsoDate('2000-01-01', '2100-12-31'),
  })
  .strict()
  .refine((q) => q.from <= q.to, { message: 'to must not be before from', path: ['to'] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) < MAX_RANGE_DAYS * 86_400_000, { message: `at most ${MAX_RANGE_DAYS} days`, path: ['to'] });

/** The days `slots generate` may be given (the horizon is at most 400 days). */
export const generationRangeSchema = z
  .object({ from: boundedIsoDate('2000-01-01', '2100-12-31'), to: boundedIsoDate('2000-01-01', '2100-12-31') })
  .refine((q) => q.from <= q.to && Date.parse(q.to) - Date.parse(q.from) < 400 * 86_400_000, { message: 'from before to, at most 400 days', path: ['to'] });

const slotViewSchema = z.object({
  venueId: z.string(),
  startsAt: z.string().describe('ISO instant, Tokyo offset'),
  endsAt: z.string(),
  capacity: z.number().int(),
  booked: z.number().int(),
  free: z.number().int().describe('0 when closed or full'),
  open: z.boolean().describe('false: the day or venue was closed after generation'),
  overCapacity: z.boolean().describe('more booked than the capacity (a capacity lowered after bookings)'),
});
const slotsAnswerSchema = z.object({ venueId: z.string(), from: z.string(), to: z.string(), slots: z.array(slotViewSchema) });

@ApiTags('slots')
@ApiBearerAuth()
@Controller('api/venues')
export class SlotsController {
  constructor(private readonly slots: SlotsService) {}

  @Get(':venueId/slots')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor')
  @ApiOperation({ summary: `A venue's slots between two Tokyo dates (inclusive, at most ${MAX_RANGE_DAYS} days), earliest first, with capacity, booked and free places (R-5.7)` })
  @ApiParam({ name: 'venueId', schema: jsonSchemaOf(venueIdSchema) })
  @ApiQueryFrom(slotsQuerySchema)
  @ApiOkResponse({ schema: jsonSchemaOf(slotsAnswerSchema) })
  async list(@Param('venueId') venueId: string, @Query() query: Record<string, unknown>) {
    const id = parseOrThrow(venueIdSchema, venueId, 'venueId');
    const q = parseOrThrow(slotsQuerySchema, query, 'query');
    return { venueId: id, from: q.from, to: q.to, slots: await this.slots.list(id, q.from, q.to) };
  }
}
