/**
 * The ward's reports (R-9.1, R-9.2, R-5.8, R-9.3), each built once as a `ReportDocument` (the page
 * and the PDF show the same tables) and as one CSV table:
 * - the monthly work plan (月次作業計画書, due the 25th of the month before),
 * - the monthly results report (月次実績報告書) against the plan,
 * - the staffing forecast (人員配置見込み) with its chart,
 * - the hand-over list of unfinished work (未了業務引継一覧).
 */
import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { addDays, tokyoDate, weekday } from '../calendar/business-days.js';
import { WardCalendar, minutesOf, tokyoInstant } from '../calendar/ward-calendar.js';
import type { VenueScope } from '../cards/venue-scope.js';
import { WARD_CONFIG, type WardConfig } from '../config/config.module.js';
import { EraTable } from '../printing/japanese-era.js';
import { reportDocument, type ReportDocument } from '../printing/report-pdf.js';
import { VENUE_DESK_CONFIG, type VenueDeskConfig } from '../venues/venue-desk.config.js';
import { barChart } from '../web/charts.js';
import { PROPOSAL_LABELS, ROUTES, ROUTE_LABELS, STATE_LABELS, type CardStateName, type ProposalKind, type Route } from '../../workflows/card-state-machine.js';
import { MonthlyReportsRepository, type EventCount, type OpenCardRow } from './monthly-reports.repository.js';
import { nextSteps, nextStepsText } from './next-steps.js';
import { slaLabel } from './sla.js';

export const MONTH_MESSAGE = '対象月は「2026-12」の形（西暦4桁-月2桁）で、2000年1月から2099年12月までの月を指定してください。';
/** `YYYY-MM`, 2000-01 .. 2099-12. */
export const monthSchema = z
  .string({ error: MONTH_MESSAGE })
  .max(7, MONTH_MESSAGE)
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, MONTH_MESSAGE)
  .refine((m) => m >= '2000-01' && m <= '2099-12', MONTH_MESSAGE);

export const REPORT_KINDS = ['plan', 'results', 'staffing', 'handover'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];
export const REPORT_TITLES: Record<ReportKind, string> = {
  plan: '月次作業計画書',
  results: '月次実績報告書',
  staffing: '人員配置見込み',
  handover: '未了業務引継一覧',
};

/** Weeks of walk-in history the staffing forecast averages. */
export const WALK_IN_WEEKS = 8;
/** Rows the hand-over page lists (the CSV and PDF list every open card). */
export const HANDOVER_PAGE_ROWS = 500;
const DAY_JA = '日月火水木金土';

export interface CsvTable {
  header: string[];
  rows: (string | number)[][];
}

export interface BuiltReport {
  kind: ReportKind;
  doc: ReportDocument;
  csv: CsvTable;
  /** File name without extension (ASCII) and its Japanese form. */
  fileName: { ascii: string; utf8: string };
  /** Card ids the report names (the hand-over list): written to the access log. */
  cardIds: string[];
  /** A chart per venue for the page (staffing). */
  charts: { venue: string; svg: string }[];
}

export function nextMonth(month: string): string {
  const y = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}
export function previousMonth(month: string): string {
  const y = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}
export function monthDays(month: string): string[] {
  const days: string[] = [];
  for (let d = `${month}-01`; d.startsWith(month); d = addDays(d, 1)) days.push(d);
  return days;
}
const shortDay = (iso: string) => `${Number(iso.slice(5, 7))}/${Number(iso.slice(8, 10))}（${DAY_JA[weekday(iso)]}）`;
const pct = (a: number, b: number) => (b === 0 ? '—' : `${((a / b) * 100).toFixed(1)}%`);
const key = (...parts: (string | null)[]) => parts.map((p) => p ?? '').join('|');

/** Sums of events per key. */
class Tally {
  private readonly m = new Map<string, number>();
  add(k: string, n: number) {
    this.m.set(k, (this.m.get(k) ?? 0) + n);
  }
  get(k: string): number {
    return this.m.get(k) ?? 0;
  }
}

/** Event types the results count per venue and day, with their column heading. */
const VENUE_EVENTS = [
  ['mail_notice', '通知書発送'],
  ['issue', '交付'],
  ['record_return', '返戻'],
  ['mail_renotice', '再通知発送'],
  ['approve_discard', '廃棄'],
  ['approve_expiry', '有効期限切れ'],
  ['mark_documents_missing', '書類不備'],
  ['confirm_no_show', '予約不来'],
] as const;
/** Event types the results count per route. */
const ROUTE_EVENTS = [
  ['registered', '受領'],
  ['inspect', '検品・初期設定'],
  ['mail_notice', '通知書発送'],
  ['record_return', '返戻'],
  ['mail_renotice', '再通知発送'],
  ['issue', '交付'],
  ['hand_to_ward', '区へ引渡し'],
  ['record_jlis_mailing', 'J-LIS発送'],
  ['record_delivery', '受取'],
  ['approve_discard', '廃棄'],
  ['approve_expiry', '有効期限切れ'],
  ['mark_removed', '住民登録消除'],
] as const;

@Injectable()
export class MonthlyReportsService {
  private readonly eras = EraTable.load();

  constructor(
    private readonly repo: MonthlyReportsRepository,
    private readonly calendar: WardCalendar,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
    @Inject(VENUE_DESK_CONFIG) private readonly desk: VenueDeskConfig,
  ) {}

  /** The month a report opens on: the plan for next month, the others for this month (Tokyo). */
  defaultMonth(kind: ReportKind): string {
    const now = tokyoDate().slice(0, 7);
    return kind === 'plan' ? nextMonth(now) : now;
  }

  private range(month: string) {
    return { from: tokyoInstant(`${month}-01`, '00:00'), to: tokyoInstant(`${nextMonth(month)}-01`, '00:00'), days: monthDays(month) };
  }

  private monthLabel(month: string): string {
    const era = this.eras.format(`${month}-01`);
    return `${era.replace(/1日$/, '')}（${month.slice(0, 4)}年${Number(month.slice(5, 7))}月）`;
  }

  private slaText(): string {
    return slaLabel(this.ward.policy.noticeSlaMs);
  }

  private createdMeta(): { label: string; value: string } {
    const now = new Date();
    const d = tokyoDate(now);
    const hm = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(now);
    return { label: '作成', value: `${this.eras.format(d)} ${hm}` };
  }

  private opening(venueId: string, date: string) {
    const o = this.calendar.venueOpening(venueId, date);
    return o.open ? { open: true, minutes: minutesOf(o.to) - minutesOf(o.from), text: `${o.from}〜${o.to}` } : { open: false, minutes: 0, text: `休業（${o.why}）` };
  }

  /**
   * Expected walk-ins per venue and day of `days`: the average of the same weekday's walk-ins at that
   * venue over the WALK_IN_WEEKS weeks before the first of those days (or before today, if earlier),
   * counting the days the venue was open.
   */
  private async walkInExpectation(days: string[]): Promise<Map<string, number>> {
    const today = tokyoDate();
    const end = days[0] < today ? days[0] : today;
    const start = addDays(end, -7 * WALK_IN_WEEKS);
    const history = await this.repo.walkInDays(start, end);
    const seen = new Tally();
    for (const r of history) seen.add(key(r.venue_id, String(weekday(r.day))), r.n);
    const openDays = new Tally();
    for (const v of this.ward.venues) {
      for (let d = start; d < end; d = addDays(d, 1)) if (this.opening(v.id, d).open) openDays.add(key(v.id, String(weekday(d))), 1);
    }
    const out = new Map<string, number>();
    for (const v of this.ward.venues) {
      for (const d of days) {
        const k = key(v.id, String(weekday(d)));
        const n = openDays.get(k);
        out.set(key(v.id, d), this.opening(v.id, d).open && n > 0 ? Math.round((seen.get(k) / n) * 10) / 10 : 0);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- monthly work plan (R-9.1)

  async plan(month: string, scope: VenueScope): Promise<BuiltReport> {
    const { from, to, days } = this.range(month);
    const sla = this.ward.policy.noticeSlaMs;
    const [slots, due, overdue, renotices, walkIns, open] = await Promise.all([
      this.repo.slotDays(from, to),
      this.repo.noticesDue(from, to, sla),
      this.repo.overdueAt(from, sla),
      this.repo.openInState('renotice_approved'),
      this.walkInExpectation(days),
      this.repo.openByRouteState(scope),
    ]);
    const slotOf = new Map(slots.map((s) => [key(s.venue_id, s.day), s]));
    const dueOf = new Tally();
    for (const r of due) dueOf.add(key(r.venue_id, r.day), r.n);
    const header = ['対象月', '会場ID', '会場', '日付', '曜日', '開庁', '開庁時間', '枠数', '定員', '予約済', '通知書発送予定', '予約外来庁見込み', '交付見込み'];
    const csvRows: (string | number)[][] = [];
    const summary: (string | number)[][] = [];
    const venueSections = this.ward.venues.map((v) => {
      let openDays = 0;
      const tot = { slots: 0, capacity: 0, booked: 0, due: 0, walkIns: 0, expected: 0 };
      const rows = days.map((d) => {
        const o = this.opening(v.id, d);
        const s = slotOf.get(key(v.id, d));
        const walk = walkIns.get(key(v.id, d)) ?? 0;
        const booked = s?.booked ?? 0;
        const expected = o.open ? Math.min(s?.capacity ?? Infinity, Math.round((booked + walk) * 10) / 10) : 0;
        const dueN = dueOf.get(key(v.id, d));
        if (o.open) openDays++;
        tot.slots += s?.slots ?? 0;
        tot.capacity += s?.capacity ?? 0;
        tot.booked += booked;
        tot.due += dueN;
        tot.walkIns += walk;
        tot.expected += expected;
        csvRows.push([month, v.id, v.name, d, DAY_JA[weekday(d)], o.open ? '開庁' : '休業', o.open ? o.text : '', s?.slots ?? 0, s?.capacity ?? 0, booked, dueN, walk, expected]);
        return [shortDay(d), o.text, s?.slots ?? 0, s?.capacity ?? 0, booked, dueN, walk, expected];
      });
      const overdueN = overdue.find((r) => r.venue_id === v.id)?.n ?? 0;
      const renoticeN = renotices.find((r) => r.venue_id === v.id)?.n ?? 0;
      summary.push([v.name, openDays, tot.slots, tot.capacity, tot.booked, tot.due, overdueN, renoticeN, Math.round(tot.walkIns * 10) / 10, Math.round(tot.expected * 10) / 10]);
      return {
        heading: `${v.name}の日別計画`,
        columns: ['日付', '開庁', { label: '枠数', right: true }, { label: '定員', right: true }, { label: '予約済', right: true }, { label: '通知書発送予定', right: true }, { label: '予約外来庁見込み', right: true }, { label: '交付見込み', right: true }],
        rows: [...rows, ['計', `${openDays}日開庁`, tot.slots, tot.capacity, tot.booked, tot.due, Math.round(tot.walkIns * 10) / 10, Math.round(tot.expected * 10) / 10]],
      };
    });
    const routeRows = open.map((r) => [
      ROUTE_LABELS[r.route as Route] ?? r.route,
      STATE_LABELS[r.state as CardStateName] ?? r.state,
      r.proposal_kinds.map((k) => PROPOSAL_LABELS[k as ProposalKind] ?? k).join('、'),
      r.n,
      nextStepsText(nextSteps({ route: r.route as Route, state: r.state as CardStateName, proposals: r.proposal_kinds as ProposalKind[] })),
    ]);
    const deadline = `${previousMonth(month)}-25`;
    const doc = reportDocument({
      title: REPORT_TITLES.plan,
      subtitle: this.monthLabel(month),
      meta: [{ label: '提出期限', value: this.eras.format(deadline) }, { label: '通知書発送の期限', value: `受領から${this.slaText()}` }, this.createdMeta()],
      sections: [
        {
          heading: '会場別の月間計画',
          note: '交付見込みは予約済に予約外来庁の見込み（同じ会場・同じ曜日の直近8週間の平均）を加えたもの（定員まで）。通知書発送予定は受領から期限に達する日の件数。',
          columns: ['会場', { label: '開庁日数', right: true }, { label: '枠数', right: true }, { label: '定員', right: true }, { label: '予約済', right: true }, { label: '通知書発送予定', right: true }, { label: '月初で期限超過', right: true }, { label: '再通知発送待ち', right: true }, { label: '予約外来庁見込み', right: true }, { label: '交付見込み', right: true }],
          rows: summary,
        },
        ...venueSections,
        {
          heading: '交付方式別の未了カード（作成時点）と次の作業',
          columns: ['交付方式', '状態', '提案', { label: '枚数', right: true }, '次の作業'],
          rows: routeRows,
        },
      ],
      signatures: ['区の確認者', '受託者　業務責任者'],
    });
    return { kind: 'plan', doc, csv: { header, rows: csvRows }, fileName: { ascii: `work-plan-${month}`, utf8: `月次作業計画書-${month}` }, cardIds: [], charts: [] };
  }

  // ---------------------------------------------------------------- monthly results (R-9.2)

  async results(month: string): Promise<BuiltReport> {
    const { from, to, days } = this.range(month);
    const sla = this.ward.policy.noticeSlaMs;
    const [slots, bookings, events, slaRows, overdueEnd, due, walkIns] = await Promise.all([
      this.repo.slotDays(from, to),
      this.repo.bookingDays(from, to),
      this.repo.eventDays(from, to),
      this.repo.noticeSla(from, to, sla),
      this.repo.overdueAt(to, sla),
      this.repo.noticesDue(from, to, sla),
      this.repo.walkInDays(days[0], addDays(days[days.length - 1], 1)),
    ]);
    const slotOf = new Map(slots.map((s) => [key(s.venue_id, s.day), s]));
    const bookingOf = new Tally();
    for (const b of bookings) bookingOf.add(key(b.venue_id, b.day), b.n);
    const walkOf = new Tally();
    for (const w of walkIns) walkOf.add(key(w.venue_id, w.day), w.n);
    const dueOf = new Tally();
    for (const r of due) dueOf.add(r.venue_id ?? '', r.n);
    const ev = new Tally();
    const addEvent = (e: EventCount) => {
      ev.add(key('venue', e.venue_id, e.type, e.day), e.n);
      ev.add(key('venue', e.venue_id, e.type), e.n);
      ev.add(key('route', e.route, e.type), e.n);
      ev.add(key('all', e.type), e.n);
      ev.add(key('day', e.type, e.day), e.n);
    };
    events.forEach(addEvent);
    const slaVenue = (venueId: string | null) => {
      const rows = slaRows.filter((r) => r.venue_id === venueId);
      return { mailed: rows.reduce((a, r) => a + r.mailed, 0), within: rows.reduce((a, r) => a + r.within_sla, 0), over: rows.reduce((a, r) => a + r.over_sla, 0), longest: Math.max(0, ...rows.map((r) => r.longest_ms)) };
    };
    const days1 = (ms: number) => (ms === 0 ? '—' : `${(ms / 86_400_000).toFixed(1)}日`);

    const header = ['対象月', '区分', 'ID', '名称', '日付', '開庁', '計画定員', '予約', '通知書発送予定', ...VENUE_EVENTS.map(([, l]) => l), '予約外来庁', '通知書期限内', '通知書期限超過'];
    const csvRows: (string | number)[][] = [];
    const summary: (string | number)[][] = [];
    const venueSections = this.ward.venues.map((v) => {
      let openDays = 0;
      let capacity = 0;
      let booked = 0;
      let walk = 0;
      const rows = days.map((d) => {
        const o = this.opening(v.id, d);
        const cap = slotOf.get(key(v.id, d))?.capacity ?? 0;
        const b = bookingOf.get(key(v.id, d));
        const w = walkOf.get(key(v.id, d));
        if (o.open) openDays++;
        capacity += cap;
        booked += b;
        walk += w;
        const counts = VENUE_EVENTS.map(([t]) => ev.get(key('venue', v.id, t, d)));
        csvRows.push([month, '会場', v.id, v.name, d, o.open ? '開庁' : '休業', cap, b, '', ...counts, w, '', '']);
        return [shortDay(d), o.open ? o.text : '休業', cap, b, ...counts, w];
      });
      const counts = VENUE_EVENTS.map(([t]) => ev.get(key('venue', v.id, t)));
      const s = slaVenue(v.id);
      const dueN = dueOf.get(v.id);
      csvRows.push([month, '会場', v.id, v.name, '月計', `${openDays}日`, capacity, booked, dueN, ...counts, walk, s.within, s.over]);
      const issued = ev.get(key('venue', v.id, 'issue'));
      const mailed = ev.get(key('venue', v.id, 'mail_notice'));
      summary.push([v.name, openDays, capacity, booked, issued, pct(issued, capacity), dueN, mailed, walk, ev.get(key('venue', v.id, 'mark_documents_missing')), ev.get(key('venue', v.id, 'confirm_no_show'))]);
      return {
        heading: `${v.name}の日別実績`,
        columns: ['日付', '開庁', { label: '定員', right: true }, { label: '予約', right: true }, ...VENUE_EVENTS.map(([, l]) => ({ label: l, right: true })), { label: '予約外来庁', right: true }],
        rows: [...rows, ['計', `${openDays}日開庁`, capacity, booked, ...counts, walk]],
      };
    });
    const routeRows = ROUTES.map((r) => {
      const counts = ROUTE_EVENTS.map(([t]) => ev.get(key('route', r, t)));
      csvRows.push([month, '交付方式', r, ROUTE_LABELS[r], '月計', '', '', '', '', ...VENUE_EVENTS.map(([t]) => ev.get(key('route', r, t))), '', '', '']);
      return [ROUTE_LABELS[r], ...counts];
    });
    const slaRowsOut = [...this.ward.venues.map((v) => ({ id: v.id as string | null, name: v.name })), { id: null, name: '会場未割当' }].map(({ id, name }) => {
      const s = slaVenue(id);
      return [name, s.mailed, s.within, s.over, pct(s.within, s.mailed), days1(s.longest), overdueEnd.find((o) => o.venue_id === id)?.n ?? 0];
    });
    const all = slaVenue('__none__');
    for (const r of slaRows) {
      all.mailed += r.mailed;
      all.within += r.within_sla;
      all.over += r.over_sla;
      all.longest = Math.max(all.longest, r.longest_ms);
    }
    const overdueAll = overdueEnd.reduce((a, r) => a + r.n, 0);
    csvRows.push([month, '全体', 'all', '全体', '月計', '', '', '', '', ...VENUE_EVENTS.map(([t]) => ev.get(key('all', t))), '', all.within, all.over]);
    const dayRows = days.map((d) => [shortDay(d), ...this.ward.venues.map((v) => ev.get(key('venue', v.id, 'issue', d))), ev.get(key('day', 'issue', d))]);
    const doc = reportDocument({
      title: REPORT_TITLES.results,
      subtitle: this.monthLabel(month),
      meta: [{ label: '通知書発送の期限', value: `受領から${this.slaText()}` }, this.createdMeta()],
      sections: [
        {
          heading: '会場別の実績（計画対比）',
          note: '計画定員は予約枠の定員の計、通知書発送予定は受領から期限に達したカード（計画作成時と同じ算定）。会場は各カードを保管する会場。',
          columns: ['会場', { label: '開庁日数', right: true }, { label: '計画定員', right: true }, { label: '予約', right: true }, { label: '交付', right: true }, { label: '定員比', right: true }, { label: '通知書発送予定', right: true }, { label: '通知書発送', right: true }, { label: '予約外来庁', right: true }, { label: '書類不備', right: true }, { label: '予約不来', right: true }],
          rows: summary,
        },
        {
          heading: '交付方式別の実績',
          columns: ['交付方式', ...ROUTE_EVENTS.map(([, l]) => ({ label: l, right: true }))],
          rows: [...routeRows, ['計', ...ROUTE_EVENTS.map(([t]) => ev.get(key('all', t)))]],
        },
        {
          heading: `交付通知書の発送期限（受領から${this.slaText()}）`,
          columns: ['会場', { label: '発送', right: true }, { label: '期限内', right: true }, { label: '期限超過', right: true }, { label: '期限内率', right: true }, { label: '最長日数', right: true }, { label: '月末で期限超過・未発送', right: true }],
          rows: [...slaRowsOut, ['計', all.mailed, all.within, all.over, pct(all.within, all.mailed), days1(all.longest), overdueAll]],
        },
        {
          heading: '日別の交付枚数',
          columns: ['日付', ...this.ward.venues.map((v) => ({ label: v.name, right: true })), { label: '計', right: true }],
          rows: [...dayRows, ['計', ...this.ward.venues.map((v) => ev.get(key('venue', v.id, 'issue'))), ev.get(key('all', 'issue'))]],
        },
        ...venueSections,
      ],
      signatures: ['区の確認者', '受託者　業務責任者'],
    });
    return { kind: 'results', doc, csv: { header, rows: csvRows }, fileName: { ascii: `results-${month}`, utf8: `月次実績報告書-${month}` }, cardIds: [], charts: [] };
  }

  // ---------------------------------------------------------------- staffing forecast (R-5.8)

  async staffing(month: string): Promise<BuiltReport> {
    const { from, to, days } = this.range(month);
    const [slots, bookings, walkIns] = await Promise.all([this.repo.slotDays(from, to), this.repo.bookingDays(from, to), this.walkInExpectation(days)]);
    const slotOf = new Map(slots.map((s) => [key(s.venue_id, s.day), s]));
    const bookingOf = new Tally();
    for (const b of bookings) bookingOf.add(key(b.venue_id, b.day), b.n);
    const header = ['対象月', '会場ID', '会場', '日付', '曜日', '開庁', '開庁時間', '定員', '予約', '予約外来庁見込み', '来庁見込み', '1人あたり分', '窓口延べ時間', '必要窓口数'];
    const csvRows: (string | number)[][] = [];
    const charts: { venue: string; svg: string }[] = [];
    const sections = this.ward.venues.flatMap((v) => {
      const perResident = this.desk.minutesPerResident(v.id);
      const chartRows: { label: string; value: number }[] = [];
      const rows = days.flatMap((d) => {
        const o = this.opening(v.id, d);
        if (!o.open) return [];
        const cap = slotOf.get(key(v.id, d))?.capacity ?? 0;
        const booked = bookingOf.get(key(v.id, d));
        const walk = walkIns.get(key(v.id, d)) ?? 0;
        const expected = Math.round((booked + walk) * 10) / 10;
        const counterMinutes = Math.round(expected * perResident);
        const counters = expected > 0 ? Math.max(1, Math.ceil(counterMinutes / o.minutes)) : 0;
        const hours = `${Math.floor(counterMinutes / 60)}時間${counterMinutes % 60}分`;
        chartRows.push({ label: shortDay(d), value: expected });
        csvRows.push([month, v.id, v.name, d, DAY_JA[weekday(d)], '開庁', o.text, cap, booked, walk, expected, perResident, counterMinutes, counters]);
        return [[shortDay(d), o.text, cap, booked, walk, expected, hours, counters]];
      });
      const svg = barChart(`staffing-${v.id}`, `${v.name}の日別来庁見込み（人）`, chartRows);
      charts.push({ venue: v.name, svg });
      return [
        {
          heading: `${v.name}（1人あたり${perResident}分）`,
          svg,
          columns: ['日付', '開庁時間', { label: '定員', right: true }, { label: '予約', right: true }, { label: '予約外来庁見込み', right: true }, { label: '来庁見込み', right: true }, { label: '窓口延べ時間', right: true }, { label: '必要窓口数', right: true }],
          rows,
        },
      ];
    });
    const doc = reportDocument({
      title: REPORT_TITLES.staffing,
      subtitle: this.monthLabel(month),
      meta: [this.createdMeta()],
      sections: [
        {
          note: `来庁見込み＝予約＋予約外来庁の見込み（同じ会場・同じ曜日の直近${WALK_IN_WEEKS}週間の開庁日の平均。予約外来庁は区承認の予約外来庁と当日予約）。必要窓口数＝来庁見込み×1人あたりの分÷開庁時間（切り上げ）。混雑時は当日の予約状況で調整する。`,
          columns: [],
          rows: [],
        },
        ...sections,
      ],
    });
    return { kind: 'staffing', doc, csv: { header, rows: csvRows }, fileName: { ascii: `staffing-${month}`, utf8: `人員配置見込み-${month}` }, cardIds: [], charts };
  }

  // ---------------------------------------------------------------- hand-over of unfinished work (R-9.3)

  /**
   * Every open card (the page: the first HANDOVER_PAGE_ROWS; CSV: all; PDF: all, or one part of
   * `part.rows` cards, the n-th in the list's order). No resident data.
   */
  async handover(scope: VenueScope, opts: { limit?: number; venueId?: string; part?: { n: number; rows: number } } = {}): Promise<BuiltReport & { total: number }> {
    const { part } = opts;
    const page = part ? { limit: part.rows, offset: (part.n - 1) * part.rows } : { limit: opts.limit };
    const [rows, groups] = await Promise.all([this.repo.openCards(scope, { ...page, venueId: opts.venueId }), this.repo.openByRouteState(scope, opts.venueId)]);
    const total = groups.reduce((a, g) => a + g.n, 0);
    const parts = part ? Math.max(1, Math.ceil(total / part.rows)) : 1;
    const venueName = (id: string | null) => this.ward.venues.find((v) => v.id === id)?.name ?? '未割当';
    const stepCache = new Map<string, string>();
    const stepOf = (r: OpenCardRow) => {
      const k = key(r.route, r.state, [...r.proposal_kinds].sort().join(','));
      let t = stepCache.get(k);
      if (t === undefined) {
        t = nextStepsText(nextSteps({ route: r.route as Route, state: r.state as CardStateName, proposals: r.proposal_kinds as ProposalKind[] }));
        stepCache.set(k, t);
      }
      return t;
    };
    const stamp = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo', dateStyle: 'short', timeStyle: 'short' });
    const when = (d: Date | string | null) => (d ? stamp.format(new Date(d)) : '');
    const header = ['カード番号', '交付方式', '状態', '会場', '受領日時', '最終更新', '通知書期限超過', '提案', '予約番号', '予約日時', '次の作業'];
    const csvRows = rows.map((r) => [
      r.card_id,
      ROUTE_LABELS[r.route as Route] ?? r.route,
      STATE_LABELS[r.state as CardStateName] ?? r.state,
      venueName(r.venue_id),
      when(r.received_at),
      when(r.updated_at),
      r.late ? '超過' : '',
      r.proposal_kinds.map((k) => PROPOSAL_LABELS[k as ProposalKind] ?? k).join('、'),
      r.booking_number ?? '',
      when(r.starts_at),
      stepOf(r),
    ]);
    const doc = reportDocument({
      title: REPORT_TITLES.handover,
      subtitle: `${this.eras.format(tokyoDate())}時点`,
      meta: [
        ...(opts.venueId ? [{ label: '会場', value: venueName(opts.venueId) }] : []),
        { label: '未了のカード', value: `${total.toLocaleString('ja-JP')}枚` },
        ...(part ? [{ label: '分冊', value: `第${part.n}部（全${parts}部、カード別の${((part.n - 1) * part.rows + 1).toLocaleString('ja-JP')}〜${((part.n - 1) * part.rows + rows.length).toLocaleString('ja-JP')}枚目）` }] : []),
        this.createdMeta(),
      ],
      sections: [
        {
          heading: '交付方式・状態・提案別',
          columns: ['交付方式', '状態', '提案', { label: '枚数', right: true }, '次の作業'],
          rows: groups.map((g) => [
            ROUTE_LABELS[g.route as Route] ?? g.route,
            STATE_LABELS[g.state as CardStateName] ?? g.state,
            g.proposal_kinds.map((k) => PROPOSAL_LABELS[k as ProposalKind] ?? k).join('、'),
            g.n,
            nextStepsText(nextSteps({ route: g.route as Route, state: g.state as CardStateName, proposals: g.proposal_kinds as ProposalKind[] })),
          ]),
        },
        {
          heading: 'カード別',
          note: '住民の氏名・住所は載せていない。カード番号で進捗管理システムのカードを開いて確認する。',
          columns: ['カード番号', '交付方式', '状態', '会場', '受領日時', '提案', '予約', '次の作業'],
          rows: csvRows.map((c) => [c[0], c[1], c[2], c[3], c[4], [c[6] ? '通知書期限超過' : '', c[7]].filter(Boolean).join('、'), c[8] ? `${c[8]} ${c[9]}` : '', c[10]]),
        },
      ],
      signatures: ['区の受領者', '受託者　業務責任者'],
    });
    const today = tokyoDate().replace(/-/g, '');
    const suffix = `${opts.venueId ? `-${opts.venueId}` : ''}${part ? `-part${part.n}of${parts}` : ''}`;
    return { kind: 'handover', doc, csv: { header, rows: csvRows }, fileName: { ascii: `handover${suffix}-${today}`, utf8: `未了業務引継一覧${suffix}-${today}` }, cardIds: rows.map((r) => r.card_id), charts: [], total };
  }
}
