import { randomBytes } from 'node:crypto';
import { Body, Controller, Get, Inject, Param, Post, Query, Render, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { AuthErrorCode, AuthException } from './auth.exception.js';
import { Allow, Public, SessionOnly } from './auth.types.js';
import { safeEqual } from './secrets.js';
import { LOCK_AFTER_FAILURES, type WebSessionContext, WebAuthService } from './web-auth.service.js';
import { cookieNames, cookieOptions } from './web-cookies.js';

type WebRequest = Request & { web?: WebSessionContext };

/** Only paths of this site: never an open redirect. */
const safeNext = (next: unknown) => (typeof next === 'string' && /^\/(?![/\\])[\w\-./?=&%]*$/.test(next) ? next : '/');

@ApiExcludeController()
@Controller()
export class LoginController {
  constructor(
    private readonly webAuth: WebAuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get cookies() {
    return cookieNames(this.config);
  }

  /** The sign-in form carries a double-submit token until there is a session to hold one. */
  private loginForm(res: Response, data: Record<string, unknown>) {
    const csrf = randomBytes(24).toString('base64url');
    res.cookie(this.cookies.loginCsrf, csrf, cookieOptions(this.config));
    res.render('login', { title: 'ログイン', csrf, ...data });
  }

  @Get('login')
  @Public()
  login(@Query('next') next: string | undefined, @Res() res: Response, @Req() req: WebRequest) {
    if (req.web?.session.mfa_verified || (req.web && !['ward', 'admin'].includes(req.web.user.role))) return res.redirect(303, safeNext(next));
    this.loginForm(res, { next: safeNext(next) });
  }

  @Post('login')
  @Public()
  async signIn(@Body() body: Record<string, string>, @Req() req: WebRequest, @Res() res: Response) {
    const cookieToken = req.cookies?.[this.cookies.loginCsrf];
    if (typeof body._csrf !== 'string' || typeof cookieToken !== 'string' || !safeEqual(body._csrf, cookieToken)) {
      throw new AuthException(AuthErrorCode.CSRF, 'the sign-in form expired; open it again');
    }
    const username = String(body.username ?? '').trim();
    const result = await this.webAuth.signIn(username, String(body.password ?? ''), req.ip, req.headers['user-agent']);
    if (!result.ok) {
      res.status(result.reason === 'locked' ? 423 : 401);
      return this.loginForm(res, {
        next: safeNext(body.next),
        username,
        error:
          result.reason === 'locked'
            ? `このアカウントは、1時間に${LOCK_AFTER_FAILURES}回ログインに失敗したためロックされています。管理者に解除を依頼してください（利用者管理の画面で「ロック解除」、または npm run cli -- user unlock --name ユーザー名）。`
            : 'ユーザー名またはパスワードが違います。',
      });
    }
    // A fresh session token at every sign-in; an old session cookie is simply replaced.
    if (req.web) await this.webAuth.signOut(req.web.session.id);
    res.clearCookie(this.cookies.loginCsrf, cookieOptions(this.config));
    res.cookie(this.cookies.session, result.token, cookieOptions(this.config));
    const next = safeNext(body.next);
    const step = result.next === 'done' ? next : `/login/${result.next}?next=${encodeURIComponent(next)}`;
    res.redirect(303, step);
  }

  @Get('login/totp')
  @SessionOnly()
  @Render('totp')
  totp(@Query('next') next: string | undefined, @Req() req: WebRequest) {
    return { title: '二要素認証', web: req.web, next: safeNext(next) };
  }

  @Post('login/totp')
  @SessionOnly()
  async verifyTotp(@Body('code') code: string, @Query('next') next: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    if (await this.webAuth.verifySecondFactor(req.web!, String(code ?? ''))) return res.redirect(303, safeNext(next));
    res.status(401).render('totp', { title: '二要素認証', web: req.web, next: safeNext(next), error: '確認コードが違います。' });
  }

  @Get('login/totp-setup')
  @SessionOnly()
  async totpSetup(@Query('next') next: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const setup = await this.webAuth.beginTotpSetup(req.web!.user.id);
    res.render('totp-setup', { title: '二要素認証の設定', web: req.web, next: safeNext(next), ...setup });
  }

  @Post('login/totp-setup')
  @SessionOnly()
  async confirmTotpSetup(@Body('code') code: string, @Query('next') next: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const codes = await this.webAuth.confirmTotpSetup(req.web!, String(code ?? ''));
    if (!codes) {
      const setup = await this.webAuth.beginTotpSetup(req.web!.user.id);
      return res.status(400).render('totp-setup', { title: '二要素認証の設定', web: req.web, next: safeNext(next), ...setup, error: '確認コードが違います。新しいQRコードでやり直してください。' });
    }
    res.render('recovery-codes', { title: 'リカバリーコード', web: req.web, codes, next: safeNext(next) });
  }

  @Post('logout')
  @SessionOnly()
  async logout(@Req() req: WebRequest, @Res() res: Response) {
    await this.webAuth.signOut(req.web!.session.id);
    res.clearCookie(this.cookies.session, cookieOptions(this.config));
    res.redirect(303, '/login');
  }

  @Get('account/sessions')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor', 'admin')
  @Render('sessions')
  async sessions(@Req() req: WebRequest) {
    const sessions = await this.webAuth.activeSessions(req.web!.user.id);
    return { title: 'セッション', nav: 'sessions', web: req.web, sessions: sessions.map((s) => ({ ...s, current: s.id === req.web!.session.id })) };
  }

  @Post('account/sessions/:id/end')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor', 'admin')
  async endSession(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    await this.webAuth.endOwnSession(req.web!.user.id, id);
    res.redirect(303, '/account/sessions');
  }
}
