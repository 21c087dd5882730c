/**
 * The residents' pages (`/booking`, no account): sign in with the booking number and date of
 * birth, see the card's state in plain words, choose a venue, a day on a month calendar and a time,
 * confirm, change or cancel, and print a confirmation. Every page works without JavaScript, in
 * four languages. The card comes only from the session: no page takes a card id, so a resident
 * reaches no other resident's data whatever the URL or form says.
 */
import { Body, Controller, Get, Inject, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { AuthErrorCode, AuthException } from '../auth/auth.exception.js';
import { Public } from '../auth/auth.types.js';
import { safeEqual } from '../auth/secrets.js';
import { checkLoginCsrf, cookieOptions, mintLoginCsrf } from '../auth/web-cookies.js';
import { addDays, tokyoDate } from '../calendar/business-days.js';
import { safeRandomUUID } from '../common/my-number.js';
import { APP_CONFIG, WARD_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import type { WardConfig } from '../config/ward-config.js';
import { ACTION_DEFINITIONS, type CardStateName } from '../../workflows/card-state-machine.js';
import { type Booker, BookingService, type SlotView } from '../booking/booking.service.js';
import { LANGUAGES, type Language, RESIDENT_PREFIX, type ResidentConfig } from './resident-config.js';
import { HTML_LANG, LANGUAGE_COOKIE, LANGUAGE_NAMES, chooseLanguage, formatDay, formatMonth, formatSlotTime, translator } from './resident-i18n.js';
import { type ResidentSession, ResidentAuthService } from './resident-auth.service.js';
import { ResidentErrorsFilter, residentRefusal } from './resident-errors.filter.js';
import { RESIDENT_CONFIG } from './resident.tokens.js';

/** Cookie names: `__Host-` in production, a development name on plain-HTTP loopback (as the staff session). */
export const residentCookies = (config: Pick<AppConfig, 'devCookies'>) =>
  config.devCookies ? { session: 'kc_dev_resident', csrf: 'kc_dev_resident_csrf' } : { session: '__Host-kc_resident', csrf: '__Host-kc_resident_csrf' };

export interface ResidentRequest extends Request {
  resident?: { lang: Language; session?: ResidentSession };
}

const venueIdField = z.string().regex(/^[a-z0-9_-]{1,30}$/);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), 'not a date');
const monthField = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/);
const instantField = z.string().max(40).regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/).refine((v) => !Number.isNaN(Date.parse(v)));
const keyField = z.string().regex(/^[A-Za-z0-9-]{8,100}$/);

/** The sign-in form: full-width digits and separators are forgiven (NFKC, spaces and hyphens dropped). */
const signInForm = z.object({
  _csrf: z.string().max(200).optional(),
  bookingNumber: z
    .string()
    .max(60)
    .transform((v) => v.normalize('NFKC').replace(/[\s\-‐−ー]/g, '').toUpperCase())
    .pipe(z.string().regex(/^[0-9A-Z]{1,20}$/)),
  birthDate: z
    .string()
    .max(30)
    .transform((v) => v.normalize('NFKC').trim().replace(/[/.年月]/g, '-').replace(/日$/, ''))
    .transform((v) => v.replace(/^(\d{4})-(\d{1,2})-(\d{1,2})$/, (_, y: string, m: string, d: string) => `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`))
    .pipe(isoDate.refine((v) => v >= '1900-01-01' && v <= '2199-12-31')),
});
const bookForm = z.object({ _csrf: z.string().max(200), venue: venueIdField, start: instantField, key: keyField });
const cancelForm = z.object({ _csrf: z.string().max(200), key: keyField });

/** The card's state in words a resident understands (the keys of `state.*`). */
function residentState(state: CardStateName): string {
  switch (state) {
    case 'reserved':
      return 'reserved';
    case 'received':
    case 'inspected':
    case 'shipped_to_venue':
      return 'preparing';
    case 'at_venue':
    case 'notice_mailed':
    case 'notice_returned':
    case 'renotice_approved':
    case 'renoticed':
      return 'ready';
    case 'no_show':
      return 'noShow';
    case 'documents_missing':
      return 'documentsMissing';
    case 'issued':
    case 'delivered':
      return 'issued';
    case 'on_hold':
      return 'onHold';
    default:
      return 'contact';
  }
}

const mayDo = (action: 'reserve' | 'cancel_reservation', state: CardStateName, route: string) => {
  const d = ACTION_DEFINITIONS[action];
  return d.roles.includes('resident') && d.routes.includes(route as never) && d.from !== 'open' && d.from.includes(state);
};

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

@ApiExcludeController()
@Controller(RESIDENT_PREFIX.slice(1))
@UseFilters(ResidentErrorsFilter)
export class ResidentPagesController {
  constructor(
    private readonly auth: ResidentAuthService,
    private readonly em: EntityManager,
    private readonly booking: BookingService,
    @Inject(RESIDENT_CONFIG) private readonly config: ResidentConfig,
    @Inject(APP_CONFIG) private readonly app: AppConfig,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
  ) {}

  private get cookies() {
    return residentCookies(this.app);
  }

  /** The language (remembered in a cookie when chosen) and the session, if any. */
  private async context(req: ResidentRequest, res: Response, opts: { signedIn: boolean }): Promise<{ lang: Language; session: ResidentSession }> {
    const { lang, chosen } = chooseLanguage(req);
    if (chosen) res.cookie(LANGUAGE_COOKIE, lang, { ...cookieOptions(this.app), httpOnly: true, maxAge: 365 * 86_400_000 });
    req.resident = { lang };
    const resumed = await this.auth.resume(req.cookies?.[this.cookies.session]);
    if (typeof resumed === 'object') req.resident.session = resumed;
    if (opts.signedIn && typeof resumed !== 'object') throw residentRefusal(resumed === 'expired' ? 'expired' : 'signIn');
    return { lang, session: resumed as ResidentSession };
  }

  /** Every state-changing form carries the session's token. */
  private checkCsrf(session: ResidentSession, sent: unknown) {
    if (typeof sent !== 'string' || !safeEqual(sent, session.csrfToken)) throw new AuthException(AuthErrorCode.CSRF, 'the form expired; open it again');
  }

  private booker(session: ResidentSession): Booker {
    return { kind: 'resident', bookingNumber: session.bookingNumber, channel: 'resident-web' };
  }

  /** Renders a residents' page in its layout, with the language switcher pointing at this page. */
  private render(req: ResidentRequest, res: Response, view: string, title: string, data: Record<string, unknown> = {}, status = 200) {
    const lang = req.resident?.lang ?? 'ja';
    const here = req.method === 'GET' ? new URL(req.originalUrl, 'http://x') : new URL(req.resident?.session ? `${RESIDENT_PREFIX}/home` : RESIDENT_PREFIX, 'http://x');
    const languages = LANGUAGES.map((l) => {
      here.searchParams.set('lang', l);
      return { lang: l, htmlLang: HTML_LANG[l], name: LANGUAGE_NAMES[l], href: here.pathname + here.search, current: l === lang };
    });
    res.status(status).render(`resident/${view}`, {
      layout: 'resident/layout',
      lang,
      htmlLang: HTML_LANG[lang],
      title,
      languages,
      signedIn: Boolean(req.resident?.session),
      csrf: req.resident?.session?.csrfToken,
      phone: this.config.contact.phone,
      ...data,
    });
  }

  private venue(id: string, lang: Language) {
    const v = this.ward.venues.find((x) => x.id === id);
    if (!v) return undefined;
    const local = lang === 'ja' ? undefined : this.config.venues[id]?.[lang];
    return { id, name: local?.name ?? v.name, address: local?.address ?? v.address };
  }

  private describeSlot(slot: { venueId: string; startsAt: string; endsAt: string }, lang: Language) {
    return { venue: this.venue(slot.venueId, lang), day: formatDay(slot.startsAt, lang), time: formatSlotTime(slot.startsAt, slot.endsAt, lang) };
  }

  /** The signed-in card (by the session only). */
  private async card(session: ResidentSession) {
    const [card] = await this.em.fork().execute<{ state: CardStateName; route: string; venue_id: string | null }[]>(`select state, route, venue_id from card where card_id = ?`, [session.cardId]);
    if (!card) throw residentRefusal('signIn');
    return card;
  }

  // ---- Sign-in -------------------------------------------------------------------------------

  @Get()
  @Public()
  async signInPage(@Query('expired') expired: string | undefined, @Query('out') out: string | undefined, @Req() req: ResidentRequest, @Res() res: Response) {
    const { lang } = await this.context(req, res, { signedIn: false });
    if (req.resident?.session) return res.redirect(303, `${RESIDENT_PREFIX}/home`);
    const t = translator(lang);
    this.signInForm(req, res, { notice: expired ? t('signIn.expired') : out ? t('signIn.signedOut') : undefined });
  }

  private signInForm(req: ResidentRequest, res: Response, data: Record<string, unknown>, status = 200) {
    const csrf = mintLoginCsrf(this.app.dataKey);
    res.cookie(this.cookies.csrf, csrf, cookieOptions(this.app));
    const t = translator(req.resident?.lang ?? 'ja');
    this.render(req, res, 'sign-in', t('signIn.title'), { signInCsrf: csrf, ...data }, status);
  }

  @Post('sign-in')
  @Public()
  async signIn(@Body() raw: unknown, @Req() req: ResidentRequest, @Res() res: Response) {
    const { lang } = await this.context(req, res, { signedIn: false });
    const t = translator(lang);
    if (!checkLoginCsrf(this.app.dataKey, (raw as { _csrf?: unknown } | undefined)?._csrf, req.cookies?.[this.cookies.csrf])) {
      return this.signInForm(req, res, { error: t('signIn.formExpired') }, 403);
    }
    const typed = raw as { bookingNumber?: unknown; birthDate?: unknown };
    const keep = { bookingNumber: typeof typed.bookingNumber === 'string' ? typed.bookingNumber.slice(0, 60) : '', birthDate: typeof typed.birthDate === 'string' ? typed.birthDate.slice(0, 30) : '' };
    const parsed = signInForm.safeParse(raw);
    if (!parsed.success) return this.signInForm(req, res, { error: t('signIn.invalid'), ...keep }, 400);
    const result = await this.auth.signIn(parsed.data.bookingNumber, parsed.data.birthDate, req.ip);
    if (!result.ok) {
      const time = result.reason === 'invalid' ? '' : `${formatDay(result.until.toISOString(), lang)} ${formatSlotTime(result.until.toISOString(), result.until.toISOString(), lang).split('–')[0]}`;
      if (result.reason === 'throttled') res.setHeader('Retry-After', String(Math.max(1, Math.ceil((result.until.getTime() - Date.now()) / 1000))));
      const error = result.reason === 'invalid' ? t('signIn.invalid') : result.reason === 'throttled' ? t('signIn.throttled', { time }) : t('signIn.locked', { time, phone: this.config.contact.phone });
      return this.signInForm(req, res, { error, ...keep }, result.reason === 'invalid' ? 401 : result.reason === 'throttled' ? 429 : 423);
    }
    // A fresh session at every sign-in; an older one in this browser ends.
    if (req.resident?.session) await this.auth.end(req.resident.session.id);
    res.clearCookie(this.cookies.csrf, cookieOptions(this.app));
    res.cookie(this.cookies.session, result.token, cookieOptions(this.app));
    res.redirect(303, `${RESIDENT_PREFIX}/home`);
  }

  @Post('sign-out')
  @Public()
  async signOut(@Body() raw: { _csrf?: unknown } | undefined, @Req() req: ResidentRequest, @Res() res: Response) {
    const { session } = await this.context(req, res, { signedIn: true });
    this.checkCsrf(session, raw?._csrf);
    await this.auth.end(session.id);
    res.clearCookie(this.cookies.session, cookieOptions(this.app));
    res.redirect(303, `${RESIDENT_PREFIX}?out=1`);
  }

  // ---- The card and its booking ---------------------------------------------------------------

  @Get('home')
  @Public()
  async home(@Query('done') done: string | undefined, @Req() req: ResidentRequest, @Res() res: Response) {
    const { lang, session } = await this.context(req, res, { signedIn: true });
    const t = translator(lang);
    const card = await this.card(session);
    const current = await this.booking.currentBooking(session.cardId);
    this.render(req, res, 'home', t('home.title'), {
      bookingNumber: session.bookingNumber,
      stateText: t(`state.${residentState(card.state)}`),
      booking: current ? this.describeSlot(current, lang) : undefined,
      canBook: !current && mayDo('reserve', card.state, card.route),
      canChange: Boolean(current) && mayDo('cancel_reservation', card.state, card.route),
      done: done === 'cancelled' ? t('cancel.done') : undefined,
    });
  }

  @Get('venues')
  @Public()
  async venues(@Req() req: ResidentRequest, @Res() res: Response) {
    const { lang, session } = await this.context(req, res, { signedIn: true });
    const card = await this.card(session);
    const current = await this.booking.currentBooking(session.cardId);
    const chosen = current?.venueId ?? card.venue_id;
    this.render(req, res, 'venues', translator(lang)('venues.title'), {
      venues: this.ward.venues.map((v) => ({ ...this.venue(v.id, lang)!, checked: v.id === chosen })),
    });
  }

  @Get('calendar')
  @Public()
  async calendar(@Query() query: Record<string, unknown>, @Req() req: ResidentRequest, @Res() res: Response) {
    const { lang, session } = await this.context(req, res, { signedIn: true });
    const t = translator(lang);
    const venue = this.venue(venueIdField.parse(query.venue), lang);
    if (!venue) throw residentRefusal('badInput');
    const today = tokyoDate();
    const earliest = this.booking.earliestDate(this.booker(session), today);
    const first = earliest.slice(0, 7);
    const last = addDays(today, 366).slice(0, 7);
    const month = query.month === undefined ? first : monthField.parse(query.month);
    if (month < today.slice(0, 7) || month > last) throw residentRefusal('badInput');
    const days = new Map((await this.booking.monthAvailability(venue.id, month)).map((d) => [d.date, d]));
    const start = `${month}-01`;
    const weeks: { date?: string; num?: number; label?: string; status?: string; text?: string; href?: string }[][] = [];
    let week: (typeof weeks)[number] = Array.from({ length: new Date(`${start}T12:00:00Z`).getUTCDay() }, () => ({}));
    let bookable = 0;
    for (let d = start; d.slice(0, 7) === month; d = addDays(d, 1)) {
      const a = days.get(d);
      let status: string;
      if (d < today) status = 'past';
      else if (d < earliest) status = 'tooSoon';
      else if (!a || !a.open) status = 'closed';
      else if (a.free <= 0) status = 'full';
      else status = 'free';
      if (status === 'free') bookable++;
      week.push({
        date: d,
        num: Number(d.slice(8)),
        label: formatDay(d, lang),
        status,
        text: status === 'free' ? t('calendar.free', { count: a!.free }) : t(`calendar.${status}`),
        href: status === 'free' ? `${RESIDENT_PREFIX}/day?venue=${venue.id}&date=${d}` : undefined,
      });
      if (week.length === 7) {
        weeks.push(week);
        week = [];
      }
    }
    if (week.length) weeks.push([...week, ...Array.from({ length: 7 - week.length }, () => ({}))]);
    const prev = addDays(start, -1).slice(0, 7);
    const next = addDays(start, 31).slice(0, 7);
    this.render(req, res, 'calendar', t('calendar.title'), {
      venue,
      month: formatMonth(month, lang),
      earliest: formatDay(earliest, lang),
      weekdays: WEEKDAYS.map((w) => t(`weekday.${w}`)),
      weeks,
      none: bookable === 0,
      prevHref: prev >= today.slice(0, 7) ? `${RESIDENT_PREFIX}/calendar?venue=${venue.id}&month=${prev}` : undefined,
      nextHref: next <= last ? `${RESIDENT_PREFIX}/calendar?venue=${venue.id}&month=${next}` : undefined,
    });
  }

  @Get('day')
  @Public()
  async day(@Query() query: Record<string, unknown>, @Req() req: ResidentRequest, @Res() res: Response) {
    const { lang, session } = await this.context(req, res, { signedIn: true });
    const t = translator(lang);
    const venue = this.venue(venueIdField.parse(query.venue), lang);
    const date = isoDate.parse(query.date);
    if (!venue) throw residentRefusal('badInput');
    const earliest = this.booking.earliestDate(this.booker(session));
    const slots = date < earliest || date > addDays(tokyoDate(), 366) ? [] : await this.booking.freeSlots(venue.id, date, date);
    this.render(req, res, 'day', t('day.title'), {
      venue,
      dayLabel: formatDay(date, lang),
      tooSoon: date < earliest ? t('error.TOO_SOON', { date: formatDay(earliest, lang) }) : undefined,
      slots: slots.filter((s) => s.free > 0).map((s, i) => ({ value: s.startsAt, id: `slot-${i}`, time: formatSlotTime(s.startsAt, s.endsAt, lang), left: t('day.left', { count: s.free }), checked: i === 0 })),
      calendarHref: `${RESIDENT_PREFIX}/calendar?venue=${venue.id}&month=${date.slice(0, 7)}`,
    });
  }

  /** The slot a resident picked, as the booking service sees it now (undefined when gone or full). */
  private async findSlot(venueId: string, startsAt: string): Promise<SlotView | undefined> {
    const day = tokyoDate(new Date(startsAt));
    return (await this.booking.freeSlots(venueId, day, day)).find((s) => Date.parse(s.startsAt) === Date.parse(startsAt));
  }

  @Get('confirm')
  @Public()
  async confirm(@Query() query: Record<string, unknown>, @Req() req: ResidentRequest, @Res() res: Response) {
    const { lang, session } = await this.context(req, res, { signedIn: true });
    const venueId = venueIdField.parse(query.venue);
    const start = instantField.parse(query.start);
    if (!this.venue(venueId, lang)) throw residentRefusal('badInput');
    await this.renderConfirm(req, res, lang, session, venueId, start);
  }

  private async renderConfirm(req: ResidentRequest, res: Response, lang: Language, session: ResidentSession, venueId: string, start: string, refusal?: { message: string; nearest: SlotView[] }, status = 200) {
    const t = translator(lang);
    const slot = refusal ? undefined : await this.findSlot(venueId, start);
    const current = await this.booking.currentBooking(session.cardId);
    const problem = refusal ?? (slot ? undefined : { message: t('error.SLOT_FULL'), nearest: await this.nearest(venueId, start, session) });
    this.render(
      req,
      res,
      'confirm',
      t(current ? 'confirm.changeTitle' : 'confirm.title'),
      {
        change: Boolean(current),
        before: current ? this.describeSlot(current, lang) : undefined,
        after: slot ? this.describeSlot(slot, lang) : undefined,
        venueId,
        start,
        key: safeRandomUUID(),
        problem: problem && {
          message: problem.message,
          nearest: problem.nearest.map((s) => ({ ...this.describeSlot(s, lang), href: `${RESIDENT_PREFIX}/confirm?venue=${s.venueId}&start=${encodeURIComponent(s.startsAt)}` })),
        },
        dayHref: `${RESIDENT_PREFIX}/day?venue=${venueId}&date=${tokyoDate(new Date(start))}`,
      },
      status,
    );
  }

  /** Up to five free slots of the venue nearest to the one that filled up meanwhile. */
  private nearest(venueId: string, start: string, session: ResidentSession): Promise<SlotView[]> {
    return this.booking.nearest(venueId, start, this.booking.earliestDate(this.booker(session)));
  }

  @Post('book')
  @Public()
  async book(@Body() raw: unknown, @Req() req: ResidentRequest, @Res() res: Response) {
    const { lang, session } = await this.context(req, res, { signedIn: true });
    this.checkCsrf(session, (raw as { _csrf?: unknown } | undefined)?._csrf);
    const form = bookForm.safeParse(raw);
    if (!form.success) throw residentRefusal('badInput');
    const { venue, start, key } = form.data;
    if (!this.venue(venue, lang)) throw residentRefusal('badInput');
    const changing = Boolean(await this.booking.currentBooking(session.cardId));
    try {
      await this.booking.book(session.cardId, { venueId: venue, startsAt: start }, this.booker(session), key);
    } catch (e) {
      const refusal = this.refusal(e, lang);
      if (!refusal) throw e;
      return this.renderConfirm(req, res, lang, session, venue, start, refusal, 409);
    }
    res.redirect(303, `${RESIDENT_PREFIX}/confirmation?done=${changing ? 'changed' : 'booked'}`);
  }

  /** A booking refusal in the resident's language, with the nearest free slots when full. */
  private refusal(e: unknown, lang: Language): { message: string; nearest: SlotView[] } | undefined {
    const t = translator(lang);
    const { code, details } = (e ?? {}) as { code?: unknown; details?: { nearest?: SlotView[]; earliest?: string } };
    switch (code) {
      case 'SLOT_FULL':
        return { message: t('error.SLOT_FULL'), nearest: details?.nearest ?? [] };
      case 'TOO_SOON':
        return { message: t('error.TOO_SOON', { date: details?.earliest ? formatDay(details.earliest, lang) : '' }), nearest: [] };
      case 'SLOT_NOT_FOUND':
      case 'SLOT_CLOSED':
      case 'SLOT_PAST':
        return { message: t('error.SLOT_NOT_FOUND'), nearest: [] };
      case 'CARD_NOT_AT_VENUE':
        return { message: t('error.CARD_NOT_AT_VENUE'), nearest: [] };
      case 'ILLEGAL_TRANSITION':
      case 'ROLE_NOT_ALLOWED':
      case 'CONFLICT':
        return { message: t('error.conflict'), nearest: [] };
      default:
        return typeof code === 'string' && /^[A-Z_]+$/.test(code) && code !== 'WORKFLOW_UNAVAILABLE' && code !== 'INTERNAL_ERROR' ? { message: t('error.notBookable'), nearest: [] } : undefined;
    }
  }

  @Get('cancel')
  @Public()
  async cancelPage(@Req() req: ResidentRequest, @Res() res: Response) {
    const { lang, session } = await this.context(req, res, { signedIn: true });
    const current = await this.booking.currentBooking(session.cardId);
    this.render(req, res, 'cancel', translator(lang)('cancel.title'), { booking: current ? this.describeSlot(current, lang) : undefined, key: safeRandomUUID() });
  }

  @Post('cancel')
  @Public()
  async cancel(@Body() raw: unknown, @Req() req: ResidentRequest, @Res() res: Response) {
    const { lang, session } = await this.context(req, res, { signedIn: true });
    this.checkCsrf(session, (raw as { _csrf?: unknown } | undefined)?._csrf);
    const form = cancelForm.safeParse(raw);
    if (!form.success) throw residentRefusal('badInput');
    try {
      await this.booking.cancel(session.cardId, this.booker(session), form.data.key);
    } catch (e) {
      const refusal = this.refusal(e, lang);
      if (!refusal) throw e;
      const current = await this.booking.currentBooking(session.cardId);
      return this.render(req, res, 'cancel', translator(lang)('cancel.title'), { booking: current ? this.describeSlot(current, lang) : undefined, key: safeRandomUUID(), error: refusal.message }, 409);
    }
    res.redirect(303, `${RESIDENT_PREFIX}/home?done=cancelled`);
  }

  @Get('confirmation')
  @Public()
  async confirmation(@Query('done') done: string | undefined, @Req() req: ResidentRequest, @Res() res: Response) {
    const { lang, session } = await this.context(req, res, { signedIn: true });
    const t = translator(lang);
    const current = await this.booking.currentBooking(session.cardId);
    this.render(req, res, 'confirmation', t('confirmation.title'), {
      done: done === 'booked' ? t('confirmation.booked') : done === 'changed' ? t('confirmation.changed') : undefined,
      bookingNumber: session.bookingNumber,
      booking: current ? this.describeSlot(current, lang) : undefined,
      bring: this.config.whatToBring[lang],
    });
  }
}
