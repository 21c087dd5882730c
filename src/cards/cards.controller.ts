import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { safeRandomUUID } from '../common/my-number.js';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow, type AuthUser, CurrentUser } from '../auth/auth.types.js';
import { ApiQueryFrom } from '../common/openapi.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { ACTIONS } from '../../workflows/card-state-machine.js';
import { actionBodySchema, actionNameSchema, batchSchema, cardInputSchema, exportQuerySchema, registerBodySchema, searchQuerySchema } from './card.dto.js';
import { CardExportService, sendSubstitutionList } from './card-export.service.js';
import { CardsErrorCode, CardsException } from './cards.exception.js';
import { CardsService } from './cards.service.js';
import { presentActionResult } from './card.presenter.js';

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
  ) {}

  @Post('cards')
  @Allow('ward', 'office')
  @HttpCode(200)
  @ApiOperation({ summary: 'Register one card, or up to 1,000 as { cards: [...] }; idempotent on cardId (R-2.3)' })
  @ApiBody({ schema: json(registerBodySchema) })
  async register(@Body() body: unknown, @CurrentUser() user: AuthUser, @Req() req: Request) {
    const isBatch = typeof body === 'object' && body !== null && 'cards' in body;
    const cards = isBatch ? parseOrThrow(batchSchema, body).cards : [parseOrThrow(cardInputSchema, body)];
    const results = await this.service.register(cards, user, 'api');
    await this.accessLog.record({
      user,
      kind: 'register',
      cardIds: cards.map((c) => c.cardId),
      detail: `registered ${results.filter((r) => r.status === 'created').length} of ${cards.length}`,
      channel: 'api',
      ip: req.ip,
      requestId: requestId(req),
    });
    return isBatch ? { results } : results[0];
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
    const { count } = await this.exporter.stream(q, res, 'api');
    await this.accessLog.record({
      user,
      kind: 'export',
      cardIds: [],
      detail: `csv export of ${count} cards: ${new URLSearchParams(query as Record<string, string>).toString()}`,
      channel: 'api',
      ip: req.ip,
      requestId: requestId(req),
    });
  }

  @Get('cards-substituted.csv')
  @Allow('ward', 'office', 'auditor')
  @ApiQueryFrom(exportQuerySchema)
  @ApiOperation({ summary: 'The cards of an export whose text Shift_JIS cannot hold (written as 〓 in the Shift_JIS export), with the columns affected; same filters' })
  async substitutedCsv(@Query() query: unknown, @CurrentUser() user: AuthUser, @Req() req: Request, @Res() res: Response) {
    const q = parseOrThrow(exportQuerySchema, query, 'query');
    const found = await this.exporter.substitutions(q);
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
  @ApiOperation({ summary: 'Take an action on a card; retried requests with the same Idempotency-Key apply once' })
  @ApiCardId()
  @ApiParam({ name: 'action', enum: ACTIONS })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Any unique string per intended action (a UUID)' })
  @ApiBody({ schema: json(actionBodySchema) })
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
    const idempotencyKey = parseOrThrow(z.string().min(1).max(200).optional(), key, 'Idempotency-Key') ?? safeRandomUUID();
    const result = await this.service.act(id, name.data, input, user, idempotencyKey, 'api');
    await this.accessLog.record({ user, kind: 'change', cardIds: [id], detail: name.data, channel: 'api', ip: req.ip, requestId: requestId(req) });
    return presentActionResult(result);
  }

  @Get('cards/:cardId/history')
  @Allow('ward', 'auditor')
  @ApiOperation({ summary: "The card's Temporal event history beside its projected events" })
  @ApiCardId()
  async history(@Param('cardId') cardId: string, @CurrentUser() user: AuthUser, @Req() req: Request) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const result = await this.service.history(id);
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
    const result = await this.service.replay(id);
    await this.accessLog.record({ user, kind: 'replay', cardIds: [id], detail: `replayed=${result.replayed}`, channel: 'api', ip: req.ip, requestId: requestId(req) });
    return result;
  }
}
