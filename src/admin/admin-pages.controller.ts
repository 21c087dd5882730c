/** The user administration pages, for administrators only: users, roles, passwords, locks, second factors and API tokens. */
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { parseOrThrow, zodFieldErrors } from '../common/zod-validation.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { ROLE_LABELS } from '../web/view-helpers.js';
import { STAFF_ROLES } from '../../workflows/card-state-machine.js';
import { MIN_PASSWORD_LENGTH, newUserSchema, passwordSchema, profileSchema, tokenSchema } from './admin.dto.js';
import { AdminErrorCode, AdminException } from './admin.exception.js';
import { type AdminActor, AdminService } from './admin.service.js';

type WebRequest = Request & { web: WebSessionContext };
type FormValues = Record<string, string>;

const idSchema = z.uuid();

/** What the user page says after a change (`?done=`), after the redirect that follows every form. */
const DONE: Record<string, string> = {
  created: '利用者を作成しました。初期パスワードは本人に安全な方法で伝えてください。',
  profile: '役割・会場・表示名を変更しました。',
  unchanged: '変更はありませんでした。',
  password: '新しいパスワードを設定しました。この利用者のほかのセッションは終了しました。',
  disabled: '利用を停止しました。この利用者のセッションは終了し、APIトークンも使えなくなりました。',
  enabled: '利用を再開しました。',
  unlocked: 'ロックを解除しました。',
  totp: '二要素認証をリセットしました。次のログインで設定し直します。',
  revoked: 'APIトークンを失効させました。',
};

/** The id of the input behind each form field, for the error summary's links. */
const FIELD_IDS: Record<string, string> = { username: 'username', displayName: 'displayName', role: 'role', venueId: 'venueId', password: 'password', name: 'token-name' };

/** One message per field (the first), and the summary that links to the fields. */
function formErrors(fields: { field: string; message: string }[]) {
  const errors: Record<string, string> = {};
  for (const f of fields) errors[f.field] ??= f.message;
  return { errors, summary: Object.entries(errors).map(([field, message]) => ({ href: `#${FIELD_IDS[field] ?? field}`, message })) };
}

/** Submitted text fields to show again after an error; passwords are never sent back. */
const keep = (body: Record<string, unknown>, names: string[]): FormValues => Object.fromEntries(names.map((n) => [n, typeof body[n] === 'string' ? body[n] : '']));

@ApiExcludeController()
@Controller('admin/users')
export class AdminPagesController {
  private readonly venueIds: string[];

  constructor(
    private readonly admin: AdminService,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
  ) {
    this.venueIds = ward.venues.map((v) => v.id);
  }

  @Get()
  @Allow('admin')
  async list(@Req() req: WebRequest, @Res() res: Response) {
    const users = await this.admin.users();
    res.render('admin-users', {
      title: '利用者管理',
      nav: 'admin',
      web: req.web,
      users: users.map((u) => ({ ...u, venueName: this.admin.venueName(u.venue_id), self: u.id === req.web.user.id })),
    });
  }

  @Get('new')
  @Allow('admin')
  newUser(@Req() req: WebRequest, @Res() res: Response) {
    this.renderNew(req, res, 200, {});
  }

  @Post()
  @Allow('admin')
  async create(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const values = keep(body, ['username', 'displayName', 'role', 'venueId']);
    const parsed = newUserSchema(this.venueIds).safeParse(body);
    if (!parsed.success) return this.renderNew(req, res, 400, values, zodFieldErrors(parsed.error));
    try {
      const id = await this.admin.create(this.actor(req), parsed.data);
      res.redirect(303, `/admin/users/${id}?done=created`);
    } catch (e) {
      if (e instanceof AdminException && e.code === AdminErrorCode.USERNAME_TAKEN) return this.renderNew(req, res, e.status, values, [{ field: 'username', message: e.message }]);
      throw e;
    }
  }

  @Get(':id')
  @Allow('admin')
  async show(@Param('id') rawId: string, @Query('done') done: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(idSchema, rawId, 'id');
    await this.renderUser(req, res, id, { done: done && Object.hasOwn(DONE, done) ? DONE[done] : undefined });
  }

  @Post(':id/profile')
  @Allow('admin')
  async profile(@Param('id') rawId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(idSchema, rawId, 'id');
    const profile = keep(body, ['displayName', 'role', 'venueId', 'allVenues']);
    const parsed = profileSchema(this.venueIds).safeParse(body);
    if (!parsed.success) return this.renderUser(req, res, id, { status: 400, fields: zodFieldErrors(parsed.error), profile });
    await this.perform(req, res, id, async (actor) => ((await this.admin.updateProfile(actor, id, parsed.data)) ? 'profile' : 'unchanged'), profile);
  }

  @Post(':id/password')
  @Allow('admin')
  async password(@Param('id') rawId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(idSchema, rawId, 'id');
    const parsed = passwordSchema.safeParse(body);
    if (!parsed.success) return this.renderUser(req, res, id, { status: 400, fields: zodFieldErrors(parsed.error) });
    await this.perform(req, res, id, async (actor) => (await this.admin.setPassword(actor, id, parsed.data.password), 'password'));
  }

  @Post(':id/disable')
  @Allow('admin')
  async disable(@Param('id') rawId: string, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(idSchema, rawId, 'id');
    await this.perform(req, res, id, async (actor) => (await this.admin.setDisabled(actor, id, true), 'disabled'));
  }

  @Post(':id/enable')
  @Allow('admin')
  async enable(@Param('id') rawId: string, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(idSchema, rawId, 'id');
    await this.perform(req, res, id, async (actor) => (await this.admin.setDisabled(actor, id, false), 'enabled'));
  }

  @Post(':id/unlock')
  @Allow('admin')
  async unlock(@Param('id') rawId: string, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(idSchema, rawId, 'id');
    await this.perform(req, res, id, async (actor) => (await this.admin.unlock(actor, id), 'unlocked'));
  }

  @Post(':id/totp-reset')
  @Allow('admin')
  async resetTotp(@Param('id') rawId: string, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(idSchema, rawId, 'id');
    await this.perform(req, res, id, async (actor) => (await this.admin.resetTotp(actor, id), 'totp'));
  }

  @Post(':id/tokens')
  @Allow('admin')
  async createToken(@Param('id') rawId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(idSchema, rawId, 'id');
    const parsed = tokenSchema.safeParse(body);
    if (!parsed.success) return this.renderUser(req, res, id, { status: 400, fields: zodFieldErrors(parsed.error), tokenName: keep(body, ['name']).name });
    const created = await this.admin.createToken(this.actor(req), id, parsed.data.name);
    // The token is on this page only: neither the browser nor a proxy may keep it.
    res.setHeader('Cache-Control', 'no-store');
    res.render('admin-token', { title: 'APIトークンを発行しました', nav: 'admin', web: req.web, user: created.user, name: parsed.data.name, token: created.token });
  }

  @Post(':id/tokens/:tokenId/revoke')
  @Allow('admin')
  async revokeToken(@Param('id') rawId: string, @Param('tokenId') rawTokenId: string, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(idSchema, rawId, 'id');
    const tokenId = parseOrThrow(idSchema, rawTokenId, 'tokenId');
    await this.perform(req, res, id, async (actor) => (await this.admin.revokeToken(actor, id, tokenId), 'revoked'));
  }

  private actor(req: WebRequest): AdminActor {
    return { user: req.web.user, sessionId: req.web.session.id, ip: req.ip, requestId: String(req.id ?? '') };
  }

  /** Runs a change and redirects to the user page (so a reload sends nothing twice); a refused change is shown on that page. */
  private async perform(req: WebRequest, res: Response, id: string, run: (actor: AdminActor) => Promise<string>, profile?: FormValues) {
    let done: string;
    try {
      done = await run(this.actor(req));
    } catch (e) {
      if (e instanceof AdminException && e.code !== AdminErrorCode.USER_NOT_FOUND) return this.renderUser(req, res, id, { status: e.status, error: e.message, profile });
      throw e;
    }
    res.redirect(303, `/admin/users/${id}?done=${done}`);
  }

  private options(selectedRole: string | undefined, selectedVenue: string | null | undefined) {
    return {
      roles: STAFF_ROLES.map((r) => ({ value: r, label: ROLE_LABELS[r] ?? r, selected: r === selectedRole })),
      venues: this.ward.venues.map((v) => ({ value: v.id, label: v.name, selected: v.id === selectedVenue })),
      minPassword: MIN_PASSWORD_LENGTH,
    };
  }

  private renderNew(req: WebRequest, res: Response, status: number, values: FormValues, fields: { field: string; message: string }[] = []) {
    res.status(status).render('admin-user-new', { title: '利用者の追加', nav: 'admin', web: req.web, values, ...formErrors(fields), ...this.options(values.role, values.venueId) });
  }

  private async renderUser(
    req: WebRequest,
    res: Response,
    id: string,
    opts: { status?: number; done?: string; error?: string; fields?: { field: string; message: string }[]; profile?: FormValues; tokenName?: string },
  ) {
    const user = await this.admin.user(id);
    const tokens = await this.admin.tokens(id);
    const profile = opts.profile ?? { displayName: user.display_name, role: user.role, venueId: user.venue_id ?? '', allVenues: user.all_venues ? 'yes' : '' };
    res.status(opts.status ?? 200).render('admin-user', {
      title: `利用者 ${user.username}`,
      nav: 'admin',
      web: req.web,
      user: { ...user, venueName: this.admin.venueName(user.venue_id) },
      self: user.id === req.web.user.id,
      tokens: tokens.map((t) => ({ ...t, active: !t.revoked_at })),
      profile,
      tokenName: opts.tokenName,
      done: opts.done,
      error: opts.error,
      ...formErrors(opts.fields ?? []),
      ...this.options(profile.role, profile.venueId),
    });
  }
}
