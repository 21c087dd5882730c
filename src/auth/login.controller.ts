import { Body, Controller, Get, Inject, Param, Post, Query, Render, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { AuthErrorCode, AuthException } from './auth.exception.js';
import { Allow, Public, SessionOnly } from './auth.types.js';
import { z } from 'zod';
import { parseOrThrow } from '../common/zod-validation.js';
import { ThrottleService, retryMessage } from './throttle.service.js';
import { LOCK_AFTER_FAILURES, MFA_ROLES, type WebSessionContext, WebAuthService } from './web-auth.service.js';
import { checkLoginCsrf, cookieNames, cookieOptions, mintLoginCsrf } from './web-cookies.js';

type WebRequest = Request & { web?: WebSessionContext };

/** Only paths of this site: never an open redirect. */
const safeNext = (next: unknown) => (typeof next === 'string' && /^\/(?![/\\])[\w\-./?=&%]*$/.test(next) ? next : '/');

/** The sign-in forms' fields, bounded (anything else in the body is ignored). */
const text = (max: number) => z.string().max(max).optional().default('');
const signInForm = z.object({ _csrf: z.string().max(200).optional(), username: text(100), password: text(1024), next: text(2000) });
const codeForm = z.object({ code: text(40) });
const setupForm = z.object({ code: text(40), current: text(40), setup: text(2000) });

const LOCKED_MESSAGE = `このアカウントは、1時間に${LOCK_AFTER_FAILURES}回ログインに失敗したためロックされています。管理者に解除を依頼してください（利用者管理の画面で「ロック解除」、または npm run cli -- user unlock --name ユーザー名）。`;

@ApiExcludeController()
@Controller()
export class LoginController {
  constructor(
    private readonly webAuth: WebAuthService,
    private readonly throttle: ThrottleService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get cookies() {
    return cookieNames(this.config);
  }

  /** The sign-in form carries a server-signed double-submit token until there is a session to hold one. */
  private loginForm(res: Response, data: Record<string, unknown>) {
    const csrf = mintLoginCsrf(this.config.dataKey);
    res.cookie(this.cookies.loginCsrf, csrf, cookieOptions(this.config));
    res.render('login', { title: 'ログイン', csrf, ...data });
  }

  /** 429 with Retry-After, on the form the user was using. */
  private throttled(res: Response, wait: number) {
    res.status(429).setHeader('Retry-After', String(wait));
    return retryMessage(wait);
  }

  @Get('login')
  @Public()
  login(@Query('next') next: string | undefined, @Res() res: Response, @Req() req: WebRequest) {
    if (req.web?.session.mfa_verified || (req.web && !MFA_ROLES.includes(req.web.user.role))) return res.redirect(303, safeNext(next));
    this.loginForm(res, { next: safeNext(next) });
  }

  @Post('login')
  @Public()
  async signIn(@Body() rawBody: unknown, @Req() req: WebRequest, @Res() res: Response) {
    if (!checkLoginCsrf(this.config.dataKey, (rawBody as { _csrf?: unknown } | undefined)?._csrf, req.cookies?.[this.cookies.loginCsrf])) {
      throw new AuthException(AuthErrorCode.CSRF, 'the sign-in form expired; open it again');
    }
    const body = parseOrThrow(signInForm, rawBody);
    const username = body.username.trim();
    const next = safeNext(body.next);
    const wait = await this.throttle.signInWait(req.ip, username);
    if (wait > 0) return this.loginForm(res, { next, username, error: this.throttled(res, wait) });
    const result = await this.webAuth.signIn(username, body.password, req.ip, req.headers['user-agent']);
    if (!result.ok) {
      const blocked = await this.throttle.signInFailed(req.ip, username);
      if (result.reason === 'locked') res.status(423);
      else if (blocked > 0) return this.loginForm(res, { next, username, error: `ユーザー名またはパスワードが違います。${this.throttled(res, blocked)}` });
      else res.status(401);
      return this.loginForm(res, { next, username, error: result.reason === 'locked' ? LOCKED_MESSAGE : 'ユーザー名またはパスワードが違います。' });
    }
    if (result.next === 'done') await this.throttle.signInSucceeded(req.ip, username);
    // A fresh session token at every sign-in; an old session cookie is simply replaced.
    if (req.web) await this.webAuth.signOut(req.web.session.id);
    res.clearCookie(this.cookies.loginCsrf, cookieOptions(this.config));
    res.cookie(this.cookies.session, result.token, cookieOptions(this.config));
    const step = result.next === 'done' ? next : `/login/${result.next}?next=${encodeURIComponent(next)}`;
    res.redirect(303, step);
  }

  @Get('login/totp')
  @SessionOnly()
  totp(@Query('next') next: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    if (req.web!.session.mfa_verified) return res.redirect(303, safeNext(next));
    res.render('totp', { title: '二要素認証', web: req.web, next: safeNext(next) });
  }

  @Post('login/totp')
  @SessionOnly()
  async verifyTotp(@Body() rawBody: unknown, @Query('next') next: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const web = req.web!;
    if (web.session.mfa_verified) return res.redirect(303, safeNext(next));
    const { code } = parseOrThrow(codeForm, rawBody ?? {});
    const page = (error: string) => res.render('totp', { title: '二要素認証', web, next: safeNext(next), error });
    const wait = await this.throttle.signInWait(req.ip, web.user.username);
    if (wait > 0) return page(this.throttled(res, wait));
    const result = await this.webAuth.verifySecondFactor(web, code, req.ip, req.headers['user-agent']);
    if (result.ok) {
      await this.throttle.signInSucceeded(req.ip, web.user.username);
      // The password-only token is dead: the verified session has a new one.
      res.cookie(this.cookies.session, result.token, cookieOptions(this.config));
      return res.redirect(303, safeNext(next));
    }
    const blocked = await this.throttle.signInFailed(req.ip, web.user.username);
    if (result.reason === 'locked') {
      res.clearCookie(this.cookies.session, cookieOptions(this.config));
      res.status(423);
      return this.loginForm(res, { next: safeNext(next), username: web.user.username, error: LOCKED_MESSAGE });
    }
    if (blocked > 0) return page(`確認コードが違います。${this.throttled(res, blocked)}`);
    res.status(401);
    page('確認コードが違います。');
  }

  /**
   * Enrolment: for a user without a second factor (first sign-in, or after an administrator's
   * reset), or again with the current factor. Showing the form changes nothing.
   */
  @Get('login/totp-setup')
  @SessionOnly()
  async totpSetup(@Query('next') next: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const mode = await this.webAuth.enrolment(req.web!);
    if (mode === 'refused') return res.redirect(303, `/login/totp?next=${encodeURIComponent(safeNext(next))}`);
    const setup = await this.webAuth.prepareTotpSetup(req.web!);
    res.render('totp-setup', { title: '二要素認証の設定', web: req.web, next: safeNext(next), again: mode === 'again', ...setup });
  }

  @Post('login/totp-setup')
  @SessionOnly()
  async confirmTotpSetup(@Body() rawBody: unknown, @Query('next') next: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const web = req.web!;
    const input = parseOrThrow(setupForm, rawBody ?? {});
    const mode = await this.webAuth.enrolment(web);
    if (mode === 'refused') throw new AuthException(AuthErrorCode.FORBIDDEN, '二要素認証の設定を変更するには、先に現在の確認コードを入力してください。');
    const wait = await this.throttle.signInWait(req.ip, web.user.username);
    const result = wait > 0 ? undefined : await this.webAuth.confirmTotpSetup(web, { sealed: input.setup, code: input.code, currentCode: input.current }, req.ip, req.headers['user-agent']);
    if (!result?.ok) {
      let error = result?.reason === 'current' ? '現在の確認コードが違います。' : '確認コードが違います。新しいQRコードでやり直してください。';
      const blocked = wait > 0 ? wait : await this.throttle.signInFailed(req.ip, web.user.username);
      if (blocked > 0) error = `${wait > 0 ? '' : error}${this.throttled(res, blocked)}`;
      else res.status(400);
      const setup = await this.webAuth.prepareTotpSetup(web);
      return res.render('totp-setup', { title: '二要素認証の設定', web, next: safeNext(next), again: mode === 'again', ...setup, error });
    }
    await this.throttle.signInSucceeded(req.ip, web.user.username);
    res.cookie(this.cookies.session, result.token, cookieOptions(this.config));
    const fresh = await this.webAuth.resume(result.token);
    res.status(200).render('recovery-codes', { title: 'リカバリーコード', web: fresh, codes: result.codes, next: safeNext(next) });
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
    return { title: 'セッション', nav: 'sessions', web: req.web, secondFactor: MFA_ROLES.includes(req.web!.user.role), sessions: sessions.map((s) => ({ ...s, current: s.id === req.web!.session.id })) };
  }

  @Post('account/sessions/:id/end')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor', 'admin')
  async endSession(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    await this.webAuth.endOwnSession(req.web!.user.id, id);
    res.redirect(303, '/account/sessions');
  }
}
