/**
 * The residents' pages in four languages (Japanese by default, English, simplified Chinese,
 * Korean): one message file per language in `locales/`, through i18next. The language comes from
 * the page's switcher (`?lang=`), then the cookie it leaves, then the browser's Accept-Language.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request } from 'express';
import i18next, { type TFunction } from 'i18next';
import { LANGUAGES, type Language } from './resident-config.js';

const here = dirname(fileURLToPath(import.meta.url));

export const LANGUAGE_COOKIE = 'kc_lang';

/** `<html lang>` per language (Chinese is the simplified script). */
export const HTML_LANG: Record<Language, string> = { ja: 'ja', en: 'en', zh: 'zh-Hans', ko: 'ko' };
/** Each language's name in itself, for the switcher. */
export const LANGUAGE_NAMES: Record<Language, string> = { ja: '日本語', en: 'English', zh: '简体中文', ko: '한국어' };
/** Locales for dates and times (Asia/Tokyo). */
const INTL_LOCALE: Record<Language, string> = { ja: 'ja-JP', en: 'en-GB', zh: 'zh-CN', ko: 'ko-KR' };

export type Messages = Record<string, unknown>;

export function loadMessages(lang: Language): Messages {
  return JSON.parse(readFileSync(join(here, 'locales', `${lang}.json`), 'utf8')) as Messages;
}

const i18n = i18next.createInstance();
void i18n.init({
  initAsync: false,
  lng: 'ja',
  fallbackLng: false,
  supportedLngs: [...LANGUAGES],
  resources: Object.fromEntries(LANGUAGES.map((l) => [l, { translation: loadMessages(l) }])),
  // Handlebars escapes every value it prints; escaping here too would show entities.
  interpolation: { escapeValue: false },
  returnNull: false,
});

export function translator(lang: Language): TFunction {
  return i18n.getFixedT(lang);
}

export const isLanguage = (v: unknown): v is Language => typeof v === 'string' && (LANGUAGES as readonly string[]).includes(v);

/** The switcher's choice, then the cookie, then Accept-Language, then Japanese. */
export function chooseLanguage(req: Request): { lang: Language; chosen: boolean } {
  const q = req.query?.lang;
  if (isLanguage(q)) return { lang: q, chosen: true };
  const c = req.cookies?.[LANGUAGE_COOKIE];
  if (isLanguage(c)) return { lang: c, chosen: false };
  // `zh-CN`, `zh-Hans`, `ko-KR`… match their language; Japanese wins ties.
  const best = req.acceptsLanguages('ja', 'en', 'zh', 'ko');
  return { lang: isLanguage(best) ? best : 'ja', chosen: false };
}

const tokyo = (lang: Language, options: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(INTL_LOCALE[lang], { timeZone: 'Asia/Tokyo', ...options });

/** A day such as 2026年12月1日(火) / Tue, 1 Dec 2026. `date` is an ISO date or instant. */
export function formatDay(value: string, lang: Language): string {
  const at = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T12:00:00+09:00`) : new Date(value);
  return tokyo(lang, { year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' }).format(at);
}

export function formatTime(value: string | Date, lang: Language): string {
  return tokyo(lang, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(value));
}

/** A month's heading: 2026年12月 / December 2026. */
export function formatMonth(month: string, lang: Language): string {
  return tokyo(lang, { year: 'numeric', month: 'long' }).format(new Date(`${month}-15T12:00:00+09:00`));
}

/** A slot's time range: 09:00–09:30. */
export const formatSlotTime = (startsAt: string, endsAt: string, lang: Language) => `${formatTime(startsAt, lang)}–${formatTime(endsAt, lang)}`;
