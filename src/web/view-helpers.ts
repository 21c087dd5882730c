/** Handlebars helpers for the staff pages: labels in Japanese, times in Asia/Tokyo. */
import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';
import type Handlebars from 'handlebars';
import {
  ACTION_DEFINITIONS,
  PROPOSAL_LABELS,
  ROUTE_LABELS,
  STATE_LABELS,
  SYSTEM_EVENT_LABELS,
  type CardAction,
  type CardStateName,
  type ProposalKind,
  type Route,
} from '../../workflows/card-state-machine.js';

export const ROLE_LABELS: Record<string, string> = {
  ward: '区職員',
  office: '事務センター',
  callcenter: 'コールセンター',
  venue: '交付会場',
  auditor: '監査',
  admin: '管理者',
  system: 'システム',
  resident: '住民',
};

export const CHANNEL_LABELS: Record<string, string> = { api: 'API', web: '画面', timer: 'タイマー', cli: 'CLI', phone: '電話', fax: 'FAX', counter: '窓口', 'resident-web': '住民Web', migration: '移行' };

/** What an empty field shows. */
export const EMPTY = '—';

const tokyo = (v: unknown, pattern: string) => {
  if (!v) return EMPTY;
  const d = new TZDate(v instanceof Date ? v.getTime() : Date.parse(String(v)), 'Asia/Tokyo');
  return Number.isNaN(d.getTime()) ? String(v) : format(d, pattern);
};

export function registerViewHelpers(hb: typeof Handlebars): void {
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('oneOf', (value: unknown, ...rest: unknown[]) => rest.slice(0, -1).includes(value));
  hb.registerHelper('roleLabel', (r: string) => ROLE_LABELS[r] ?? r);
  hb.registerHelper('channelLabel', (c: string) => CHANNEL_LABELS[c] ?? c);
  hb.registerHelper('stateLabel', (s: string) => STATE_LABELS[s as CardStateName] ?? s);
  hb.registerHelper('routeLabel', (r: string) => ROUTE_LABELS[r as Route] ?? r);
  hb.registerHelper('eventLabel', (t: string) => ACTION_DEFINITIONS[t as CardAction]?.label ?? SYSTEM_EVENT_LABELS[t as keyof typeof SYSTEM_EVENT_LABELS] ?? t);
  hb.registerHelper('proposalLabel', (k: string) => PROPOSAL_LABELS[k as ProposalKind] ?? k);
  hb.registerHelper('jst', (v: unknown) => tokyo(v, 'yyyy/MM/dd HH:mm'));
  hb.registerHelper('jstDate', (v: unknown) => tokyo(v, 'yyyy/MM/dd'));
  // 2026/12/01（火）09:30〜10:00
  hb.registerHelper('jstSlot', (start: unknown, end: unknown) => {
    if (!start) return EMPTY;
    const s = new TZDate(Date.parse(String(start)), 'Asia/Tokyo');
    const e = new TZDate(Date.parse(String(end)), 'Asia/Tokyo');
    const day = '日月火水木金土'[s.getDay()];
    const sameDay = format(s, 'yyyyMMdd') === format(e, 'yyyyMMdd');
    return `${format(s, 'yyyy/MM/dd')}（${day}）${format(s, 'HH:mm')}〜${sameDay ? format(e, 'HH:mm') : format(e, 'yyyy/MM/dd HH:mm')}`;
  });
  hb.registerHelper('dash', (v: unknown) => (v === undefined || v === null || (typeof v === 'string' && v.trim() === '') ? EMPTY : v));
  hb.registerHelper('actionLabel', (a: string) => ACTION_DEFINITIONS[a as CardAction]?.label ?? a);
  hb.registerHelper('json', (v: unknown) => JSON.stringify(v, null, 2));
  hb.registerHelper('plus', (a: number, b: number) => Number(a) + Number(b));
  hb.registerHelper('uri', (v: unknown) => encodeURIComponent(String(v ?? '')));
}
