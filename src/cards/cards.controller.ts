import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { BookingService } from '../booking/booking.service.js';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { safeRandomUUID } from '../common/my-number.js';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow, type AuthUser, CurrentUser } from '../auth/auth.types.js';
import { ApiQueryFrom } from '../common/openapi.js';
import { CommonException } from '../common/errors.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { ACTIONS, ACTION_DEFINITIONS } from '../../workflows/card-state-machine.js';
import {
  actionBodyDocSchema,
  actionBodySchema,
  actionNameSchema,
  batchSchema,
  cardInputSchema,
  exportQuerySchema,
  idempotencyKeySchema,
  registerBodySchema,
  registerQuerySchema,
  searchQuerySchema,
} from './card.dto.js';
import { CardExportService, sendSubstitutionList } from './card-export.service.js';
import { CardsErrorCode, CardsException } from './cards.exception.js';
import { CardsService } from './cards.service.js';
import { presentActionResult } from './card.presenter.js';
import { VenueScope } from './venue-scope.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
const requestId = (req: Request) => String(req.id ?? '');
const cardIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/, 'must be a card id');
const ApiCardId = () => ApiParam({ name: 'cardId', schema: json(cardIdSchema) });

@ApiTags('cards')
@ApiBearerAuth()
@Controller('api')
export class CardsController {
  constructor(
    private readonly service: CardsService,
    private readonly exporter: CardExportService,
    private readonly accessLog: AccessLogService,
    private readonly moduleRef: ModuleRef,
  ) {}

  @Post('cards')
  @Allow('ward', 'office')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Register one card, or up to 1,000 as { cards: [...] }; idempotent on cardId (R-2.3)',
    description:
      'Answers 200 once every card of the request can be read (GET /api/cards/{id}). If they cannot within `wait` seconds ' +
      '(default REGISTRATION_WAIT_SECONDS), answers 202: the cards not yet readable have status `pending` (a batch also lists ' +
      'them in `pending`); send the same request again to wait again (it registers nothing twice), or GET each card until 200.',
  })
  @ApiBody({ schema: json(registerBodySchema) })
  @ApiQueryFrom(registerQuerySchema)
  async register(@Body() body: unknown, @Query() query: unknown, @CurrentUser() user: AuthUser, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const { wait } = parseOrThrow(registerQuerySchema, query, 'query');
    const isBatch = typeof body === 'object' && body !== null && 'cards' in body;
    const cards = isBatch ? parseOrThrow(batchSchema, body).cards : [parseOrThrow(cardInputSchema, body)];
    const outside = this.service.outsideWard(cards, (i) => (isBatch ? `cards[${i}].resident.postalCode` : 'resident.postalCode'));
    if (outside.length) throw CommonException.validation(outside);
    const registered = await this.service.register(cards, user, 'api', wait === undefined ? {} : { waitMs: wait * 1000 });
    // A card not yet readable is not claimed `created`: it is `pending`, and the answer is 202.
    const results = registered.map((r) => ({ cardId: r.cardId, status: r.readable ? r.status : ('pending' as const) }));
    const pending = results.filter((r) => r.status === 'pending').map((r) => r.cardId);
    if (pending.length) res.status(202);
    await this.accessLog.record({
      user,
      kind: 'register',
      cardIds: cards.map((c) => c.cardId),
      detail: `registered ${registered.filter((r) => r.status === 'created').length} of ${cards.length}${pending.length ? ` (${pending.length} not yet readable)` : ''}`,
      channel: 'api',
      ip: req.ip,
      requestId: requestId(req),
    });
    return isBatch ? { results, ...(pending.length ? { pending } : {}) } : results[0];
  }

  @Get('cards')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor')
  @ApiOperation({ summary: 'Search cards with filters, sort and cursor pagination (R-2.4)' })
  @ApiQueryFrom(searchQuerySchema)
  async search(@Query() query: unknown, @CurrentUser() user: AuthUser, @Req() req: Request) {
    const q = parseOrThrow(searchQuerySchema, query, 'query');
    const page = await this.service.search(q, user);
    await this.accessLog.record({
      user,
      kind: 'search',
      cardIds: page.items.map((c) => c.cardId),
      detail: `search ${new URLSearchParams(query as Record<string, string>).toString()}`,
      channel: 'api',
      ip: req.ip,
      requestId: requestId(req),
    });
    return page;
  }

  @Get('cards.csv')
  @Allow('ward', 'office', 'auditor')
  @ApiQueryFrom(exportQuerySchema)
  @ApiOperation({ summary: 'Export the search result as CSV, streamed (UTF-8 with BOM, or Shift_JIS with ?encoding=sjis: characters it cannot hold become 〓, counted in X-Substituted-Cards, listed by /api/cards-substituted.csv)' })
  async exportCsv(@Query() query: unknown, @CurrentUser() user: AuthUser, @Req() req: Request, @Res() res: Response) {
    const q = parseOrThrow(exportQuerySchema, query, 'query');
    // The ids of every exported card go to the access log, page by page, in a few rows.
    const filters = new URLSearchParams(query as Record<string, string>).toString();
    const recorder = this.accessLog.exportRecorder({ user, channel: 'api', ip: req.ip, requestId: requestId(req) }, (n, part) => `csv export of ${n} cards${part ? ` (part ${part})` : ''}: ${filters}`);
    const { count } = await this.exporter.stream(VenueScope.of(user), q, res, 'api', (ids) => recorder.add(ids));
    await recorder.finish(count);
  }

  @Get('stuck-cards')
  @Allow('ward', 'office')
  @ApiOperation({ summary: 'Cards whose changes the database keeps refusing to record (timers held back): for the office to look into' })
  async stuck(@CurrentUser() user: AuthUser, @Req() req: Request) {
    const items = await this.service.stuckCards();
    await this.accessLog.record({ user, kind: 'search', cardIds: items.map((c) => c.cardId), detail: 'stuck cards', channel: 'api', ip: req.ip, requestId: requestId(req) });
    return { items };
  }

  @Get('cards-substituted.csv')
  @Allow('ward', 'office', 'auditor')
  @ApiQueryFrom(exportQuerySchema)
  @ApiOperation({ summary: 'The cards of an export whose text Shift_JIS cannot hold (written as 〓 in the Shift_JIS export), with the columns affected; same filters' })
  async substitutedCsv(@Query() query: unknown, @CurrentUser() user: AuthUser, @Req() req: Request, @Res() res: Response) {
    const q = parseOrThrow(exportQuerySchema, query, 'query');
    const found = await this.exporter.substitutions(VenueScope.of(user), q);
    await this.accessLog.record({ user, kind: 'export', cardIds: found.map((f) => f.cardId), detail: `shift_jis substitution list of ${found.length} cards`, channel: 'api', ip: req.ip, requestId: requestId(req) });
    sendSubstitutionList(res, q, found, 'api');
  }

  @Get('cards/:cardId')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor')
  @ApiOperation({ summary: 'One card, its timeline and the actions this user may take now (R-2.5)' })
  @ApiCardId()
  async get(@Param('cardId') cardId: string, @CurrentUser() user: AuthUser, @Req() req: Request) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const detail = await this.service.get(id, user);
    await this.accessLog.record({ user, kind: 'read', cardIds: [id], detail: 'card detail', channel: 'api', ip: req.ip, requestId: requestId(req) });
    return detail;
  }

  @Post('cards/:cardId/actions/:action')
  @Allow('ward', 'office', 'callcenter', 'venue')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Take an action on a card; retried requests with the same Idempotency-Key apply once',
    description: `Each action takes its own \`data\` (anything else is refused with 400 VALIDATION_FAILED):\n\n${ACTIONS.map(
      (a) => `- \`${a}\`: ${JSON.stringify(json(ACTION_DEFINITIONS[a].edgeData ?? ACTION_DEFINITIONS[a].data))}`,
    ).join('\n')}\n\nA venueId must be one of the ward's configured venues. \`reserve\` takes a slot (venue and start): a full slot is 409 SLOT_FULL with the nearest free slots, a day too soon 422 TOO_SOON; on a reserved card it changes the booking (same booking number). A key reused for another card, action or body is refused with 422 IDEMPOTENCY_KEY_REUSED.`,
  })
  @ApiCardId()
  @ApiParam({ name: 'action', enum: ACTIONS })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'A unique key per intended action (a UUID): 1-100 letters, digits or . _ ~ : -', schema: json(idempotencyKeySchema) })
  @ApiBody({ schema: json(actionBodyDocSchema) })
  async act(
    @Param('cardId') cardId: string,
    @Param('action') action: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @CurrentUser() user: AuthUser,
    @Req() req: Request,
  ) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const name = actionNameSchema.safeParse(action);
    if (!name.success) throw new CardsException(CardsErrorCode.UNKNOWN_ACTION, `no action ${action}: one of ${ACTIONS.join(', ')}`);
    const input = parseOrThrow(actionBodySchema, body ?? {});
    // The action's own data, by its schema in the state machine's table (the service checks the venue).
    const def = ACTION_DEFINITIONS[name.data];
    const data = parseOrThrow(def.edgeData ?? def.data, input.data, 'data');
    const idempotencyKey = parseOrThrow(idempotencyKeySchema.optional(), key, 'Idempotency-Key') ?? safeRandomUUID();
    // The access-log row is written with the key's fingerprint, before the action is sent.
    const access = { channel: 'api' as const, ip: req.ip, requestId: requestId(req) };
    // A booking goes through the booking service: the slot key resolved to the slot, the booker's rules.
    const result =
      name.data === 'reserve'
        ? await this.moduleRef
            .get(BookingService, { strict: false })
            .book(id, { venueId: String(data!.venueId), startsAt: String(data!.startsAt) }, { kind: 'staff', user, channel: 'api', access }, idempotencyKey)
        : await this.service.act(id, name.data, input, user, idempotencyKey, 'api', access);
    return presentActionResult(result);
  }

  @Get('cards/:cardId/history')
  @Allow('ward', 'auditor')
  @ApiOperation({ summary: "The card's Temporal event history beside its projected events" })
  @ApiCardId()
  async history(@Param('cardId') cardId: string, @CurrentUser() user: AuthUser, @Req() req: Request) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const result = await this.service.history(id, user);
    await this.accessLog.record({ user, kind: 'history', cardIds: [id], detail: 'history', channel: 'api', ip: req.ip, requestId: requestId(req) });
    return result;
  }

  @Post('cards/:cardId/replay')
  @Allow('ward', 'auditor')
  @HttpCode(200)
  @ApiOperation({ summary: "Replay the card's history against the current workflow code" })
  @ApiCardId()
  async replay(@Param('cardId') cardId: string, @CurrentUser() user: AuthUser, @Req() req: Request) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const result = await this.service.replay(id, user);
    await this.accessLog.record({ user, kind: 'replay', cardIds: [id], detail: `replayed=${result.replayed}`, channel: 'api', ip: req.ip, requestId: requestId(req) });
    return result;
  }
}
