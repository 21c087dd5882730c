import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';
import { stringify } from 'csv-stringify/sync';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { csvOptions } from '../common/csv-cell.js';
import { bigintIdSchema, boundedIsoDate, parseOrThrow } from '../common/zod-validation.js';
import { ACCESS_KIND_LABELS, describeDetail } from './access-log-labels.js';
import { AccessLogService } from './access-log.service.js';

type WebRequest = Request & { web: WebSessionContext };

const filterSchema = z
  .object({
    user: z.string().max(100).optional(),
    card: z.string().max(32).optional(),
    from: boundedIsoDate().optional(),
    to: boundedIsoDate().optional(),
    // A positive id within PostgreSQL's bigint: anything else is a 400, never a database error.
    before: bigintIdSchema.optional(),
  })
  .strict();

const PAGE = 200;
/** Times to the second, in the ward's time zone. */
const tokyoSeconds = (at: Date | string) => format(new TZDate(new Date(at).getTime(), 'Asia/Tokyo'), 'yyyy/MM/dd HH:mm:ss');

const clean = (q: Record<string, unknown>) => Object.fromEntries(Object.entries(q).filter(([, v]) => typeof v === 'string' && v.trim() !== '').map(([k, v]) => [k, String(v).trim()]));

/** The access log, for the ward and auditors: searched by user, card and period, and exported. */
@ApiExcludeController()
@Controller()
export class AccessLogController {
  constructor(private readonly accessLog: AccessLogService) {}

  @Get('access-log')
  @Allow('ward', 'auditor', 'admin')
  async page(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const params = clean(query);
    const f = parseOrThrow(filterSchema, params, 'query');
    const rows = await this.accessLog.search({ ...f, limit: PAGE });
    const last = rows.at(-1);
    const next = rows.length === PAGE && last ? `?${new URLSearchParams({ ...params, before: last.id })}` : undefined;
    const filters = Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'before'));
    // Reading the log is itself an access an auditor must be able to see.
    await this.accessLog.record({
      user: req.web.user,
      kind: 'access_log',
      cardIds: [],
      detail: `access log view ${new URLSearchParams(params).toString()}`,
      channel: 'web',
      ip: req.ip,
      requestId: String(req.id ?? ''),
    });
    res.render('access-log', {
      title: 'アクセスログ',
      nav: 'access-log',
      web: req.web,
      params,
      rows: rows.map((r) => ({ ...r, atText: tokyoSeconds(r.at), kindLabel: ACCESS_KIND_LABELS[r.kind] ?? r.kind, detailText: describeDetail(r.detail), shownCards: r.card_ids.slice(0, 20), moreCards: Math.max(0, r.card_ids.length - 20) })),
      next,
      csv: `/access-log.csv?${new URLSearchParams(filters)}`,
    });
  }

  @Get('access-log.csv')
  @Allow('ward', 'auditor', 'admin')
  async csv(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const f = parseOrThrow(filterSchema, clean(query), 'query');
    res.setHeader('Content-Type', 'text/csv; charset=UTF-8');
    res.setHeader('Content-Disposition', 'attachment; filename="access-log.csv"');
    res.write('\uFEFF' + stringify([['id', 'at', 'user', 'role', 'channel', 'kind', 'cards', 'detail', 'ip', 'request_id']], { record_delimiter: 'windows' }));
    let before = f.before;
    let n = 0;
    // Page by id so that a long log streams in constant memory.
    for (;;) {
      const rows = await this.accessLog.search({ ...f, before, limit: 5000 });
      if (rows.length === 0) break;
      const text = stringify(
        rows.map((r) => [r.id, new TZDate(r.at, 'Asia/Tokyo').toISOString(), r.user_id, r.role, r.channel, r.kind, r.card_ids.join(' '), r.detail, r.ip ?? '', r.request_id ?? '']),
        csvOptions,
      );
      n += rows.length;
      if (!res.write(text)) await new Promise((r) => res.once('drain', r));
      before = rows.at(-1)!.id;
    }
    res.end();
    await this.accessLog.record({ user: req.web.user, kind: 'export', cardIds: [], detail: `access log export of ${n} entries`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
  }
}
