import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { AuthUser } from '../auth/auth.types.js';
import { containsMyNumber } from '../common/my-number.js';
import { AccessLogService } from './access-log.service.js';

/** A card's URL, API or page: the card, and what was asked of it. */
const CARD_URL = /^\/(api\/)?cards\/([^/]+)(\/.*)?$/;
const NOT_CARDS = new Set(['saved-searches']);

/**
 * Records every refused request for a card (403, or 404 for an unknown card or another venue's)
 * from a known user: whoever probes for cards they may not see leaves a trace. It watches the
 * response rather than each handler, so guards' refusals and every future card route are covered.
 */
@Injectable()
export class RefusedReadsMiddleware implements NestMiddleware {
  private readonly logger = new Logger('access-log');

  constructor(private readonly accessLog: AccessLogService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    res.once('finish', () => {
      if (res.statusCode !== 403 && res.statusCode !== 404) return;
      const user = (req as Request & { user?: AuthUser }).user;
      const m = CARD_URL.exec(req.path);
      if (!user || !m || NOT_CARDS.has(m[2])) return;
      let id: string;
      try {
        id = decodeURIComponent(m[2]);
      } catch {
        id = m[2];
      }
      // Only a well-formed card id is kept; a My Number typed into the URL never reaches the log.
      const keep = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/.test(id) && !containsMyNumber(id);
      const rest = (m[3] ?? '').replace(/^\/actions\/[^/]+/, '/actions/:action').replace(/[^A-Za-z0-9/:_-]/g, '');
      void this.accessLog
        .record({
          user,
          kind: 'refused',
          cardIds: keep ? [id] : [],
          detail: `${req.method} /${m[1] ?? ''}cards/:cardId${rest} ${res.statusCode}`,
          channel: m[1] ? 'api' : 'web',
          ip: req.ip,
          requestId: String(req.id ?? ''),
        })
        .catch((e: unknown) => this.logger.error({ err: e instanceof Error ? e.name : 'unknown', path: req.route?.path }, 'could not record a refused card request'));
    });
    next();
  }
}
