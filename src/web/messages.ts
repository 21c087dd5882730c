/**
 * What the staff pages say, in Japanese: button labels, and every error code (and the state
 * machine's English rejection details) turned into a message a clerk can act on. The API keeps its
 * stable English messages; only the pages read this table.
 */
import { ACTION_DEFINITIONS, PROPOSAL_LABELS, STATE_LABELS, type CardAction, type CardStateName, type ProposalKind } from '../../workflows/card-state-machine.js';
import { DomainException } from '../common/errors.js';

/** Labels that already say what is done (…を記録, …を承認, …を取消) are the button as they are; a noun gets 「を記録」. */
const VERB_ENDINGS = /(記録|承認|取消|却下|解除|発送|提案|確定|移送|受理|引渡し（暗証番号設定・郵送用）|として区へ引渡し)$/;

export function actionButtonLabel(action: CardAction): string {
  const label = ACTION_DEFINITIONS[action].label;
  return VERB_ENDINGS.test(label) ? label : `${label}を記録`;
}

/**
 * Red (danger) buttons: irreversible actions that end a card without the resident receiving it.
 * Irreversible completions (交付, 受取) still ask for the confirmation box but are the primary style:
 * they are the routine end of the story, done many times a day.
 */
export function isDangerAction(action: CardAction): boolean {
  const d = ACTION_DEFINITIONS[action];
  return d.irreversible && action !== 'issue' && action !== 'record_delivery';
}

/**
 * Actions where an optional reason still means something (a note for the next colleague); the
 * others ask for a reason only when the state machine requires one.
 */
const OPTIONAL_REASON: ReadonlySet<CardAction> = new Set<CardAction>([
  'ship_to_venue',
  'cancel_reservation',
  'confirm_no_show',
  'release_hold',
  'approve_renotice',
  'approve_discard',
  'approve_expiry',
]);

/** 'required', 'optional' or undefined (no reason field). */
export function reasonField(action: CardAction): 'required' | 'optional' | undefined {
  if (ACTION_DEFINITIONS[action].reasonRequired) return 'required';
  return OPTIONAL_REASON.has(action) ? 'optional' : undefined;
}

/** Form fields of the card actions, for messages that name them. */
const FIELD_LABELS: Record<string, string> = {
  reason: '理由',
  slot: '予約する時間',
  startsAt: '開始日時',
  endsAt: '終了日時',
  venueId: '会場',
  kind: '却下する提案',
  confirm: '確認のチェック',
  cardIds: '対象のカード',
  decision: '処理の内容',
  name: '名前',
};

export interface PageError {
  /** The form field the message belongs beside, or undefined for the form (or page) as a whole. */
  field?: string;
  message: string;
}

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

const state = (s: unknown) => STATE_LABELS[s as CardStateName] ?? '別の状態';

/** The state machine's English detail of an INVALID_DATA rejection, in Japanese, beside its field. */
function invalidData(message: string): PageError {
  const m = message;
  if (/endsAt must be after/.test(m)) return { field: 'endsAt', message: '終了日時が開始日時より前です。開始日時より後の日時を入力してください。' };
  if (/endsAt is in the past/.test(m)) return { field: 'endsAt', message: '終了日時が過ぎています。これからの日時を入力してください。' };
  if (/startsAt/.test(m)) return { field: 'startsAt', message: '開始日時を「年/月/日 時:分」で入力してください。' };
  if (/endsAt/.test(m)) return { field: 'endsAt', message: '終了日時を「年/月/日 時:分」で入力してください。' };
  if (/kept at venue|venueId/.test(m)) return { field: 'venueId', message: 'このカードを保管している会場を選んでください。' };
  if (/discard proposal is already open/.test(m)) return { message: '廃棄の提案はすでに出ています。ワークリスト「廃棄の提案」で承認または却下してください。' };
  const kind = /no open (\w+) proposal/.exec(m)?.[1];
  if (kind) return { field: 'kind', message: `「${PROPOSAL_LABELS[kind as ProposalKind] ?? kind}」は出ていません。却下する提案を選び直してください。` };
  if (/kind/.test(m)) return { field: 'kind', message: '却下する提案を選んでください。' };
  const field = /\b(?:data\.)?(\w+)\b/.exec(m)?.[1];
  return { field: field && FIELD_LABELS[field] ? field : undefined, message: '入力された内容では記録できません。入力を確かめてください。' };
}

/** Booking's refusals (BookingErrorCode), for the staff pages. */
const BOOKING_MESSAGES: Record<string, string> = {
  SLOT_FULL: 'この枠は満員になりました。近い空き枠から選び直してください。',
  SLOT_NOT_FOUND: 'その会場・時間の予約枠はありません。空き枠の一覧から選んでください。',
  SLOT_CLOSED: 'この枠は会場の休館などにより閉じられました。別の枠を選んでください。',
  SLOT_PAST: 'この枠の時間は過ぎています。これからの枠を選んでください。',
  TOO_SOON: '予約できるのは4開庁日後からです。それ以降の日を選んでください。',
  CARD_NOT_AT_VENUE: '3開庁日以内の予約は、カードがその会場に届いている場合に限られます。4開庁日後以降の日を選ぶか、カードのある会場を選んでください。',
  CARD_NOT_BOOKABLE: 'このカードは予約できません（交付時来庁方式のカードではないか、予約番号が一致しません）。',
  BAD_RANGE: '期間の指定が正しくありません。',
};

/** Page messages for the errors a clerk can meet, by the stable code. */
const BY_CODE: Record<string, string> = {
  CARD_NOT_FOUND: 'カードが見つかりません。カード番号を確かめて、カード検索から探してください。',
  UNKNOWN_ACTION: 'その操作またはページはありません。',
  ROLE_NOT_ALLOWED: 'この操作はあなたの役割では行えません。担当の職員に依頼してください。',
  FORBIDDEN: 'このページまたは操作はあなたの役割では使えません。',
  CSRF: 'フォームの有効期限が切れたか、別の画面から送られました。ページを開き直してからもう一度送ってください。',
  NOT_FOUND: 'お探しのページは見つかりませんでした。URLに誤りがないか確かめてください。',
  METHOD_NOT_ALLOWED: 'この方法ではページを開けません。メニューから開き直してください。',
  PAYLOAD_TOO_LARGE: '送られた内容が大きすぎます。分けて送ってください。',
  WORKFLOW_UNAVAILABLE: 'カードの処理が一時的に行えません。しばらく待ってからもう一度送ってください。',
  BAD_CURSOR: 'ページ送りの指定が正しくありません。最初のページから開き直してください。',
  TOO_MANY_CARDS: '一度に扱えるカードの数を超えています。分けて送ってください。',
  // Calendar and slots (src/calendar/).
  UNKNOWN_VENUE: 'その会場はありません。会場を選び直してください。',
  UNKNOWN_SLOT: 'その予約枠はありません。ページを開き直してください。',
  ...BOOKING_MESSAGES,
  // Venues' desk and task lists (src/venues/).
  VENUE_NO_BOOKING_TODAY: 'このカードには本日この会場の予約がありません。予約がない方は「当日予約」から空き枠に予約してください。予約の内容が合わないときは「不一致の連絡」から事務センターに連絡してください。',
  VENUE_CARD_NOT_HERE: 'このカードはこの会場で保管していません。カード番号を確かめてください。会場にあるはずのカードが見つからないときは「不一致の連絡」から事務センターに連絡してください。',
  VENUE_ALREADY_QUEUED: 'この方は本日すでに受付済みです。本日の予約の一覧で確かめてください。',
  TASK_NOT_FOUND: 'タスクが見つかりません。すでに完了したか、別の一覧のタスクです。',
  BATCH_NOT_FOUND: '発送バッチが見つかりません。発送バッチの一覧から開き直してください。',
  BATCH_NOTHING_DUE: '発送の対象となるカード（会場で準備が済み、まだバッチに入っていないもの）がありません。',
  BATCH_STEP_REFUSED: 'この発送バッチは今その操作ができる段階にありません。ページを開き直して、状態を確かめてください。',
  BATCH_CARD_NOT_WAITING: 'そのカードはこのバッチで発送を待っていません（抜き取り済み、発送済み、または別のバッチ）。',
  BATCH_DOCUMENT_NOT_FOUND: 'この印刷物のファイルがありません。印刷が終わっていないか、ファイルが移されました。',
  INTERNAL_ERROR: 'システムで問題が起きました。記録されています。時間をおいてもう一度行い、続く場合は問い合わせ番号を添えて連絡してください。',
};

export const MY_NUMBER_MESSAGE = '個人番号（マイナンバー）と思われる番号が入っています。この仕組みでは個人番号を扱いません。入力した番号は消しました。個人番号以外の内容を入力してください。';

/**
 * The Japanese messages for one error, each beside its field where it has one. `code` is the
 * stable error code; `details` and `message` are the exception's (never shown as they are).
 */
export function pageErrors(code: string, message: string, details?: unknown): PageError[] {
  const d = (details ?? {}) as { fields?: { field: string; message: string }[]; field?: string; state?: string };
  switch (code) {
    case 'MY_NUMBER_REFUSED':
      return [{ field: typeof d.field === 'string' ? d.field.split('.')[0] : undefined, message: MY_NUMBER_MESSAGE }];
    case 'REASON_REQUIRED':
      return [{ field: 'reason', message: '理由を入力してください（この操作には理由の記録が必要です）。' }];
    case 'INVALID_DATA':
      return [invalidData(message)];
    case 'VALIDATION_FAILED':
      return (d.fields ?? [{ field: '', message }]).map((f) => {
        const field = f.field.replace(/^(body|query)\./, '').split('.')[0];
        // Japanese messages written for the pages are kept; the schema's English ones are replaced.
        const japanese = JAPANESE.test(f.message);
        return { field: field || undefined, message: japanese ? f.message : `${FIELD_LABELS[field] ?? '入力'}の内容を確かめてください。` };
      });
    // Booking refusals that concern the chosen time are shown beside it.
    case 'SLOT_FULL':
    case 'SLOT_CLOSED':
    case 'SLOT_PAST':
    case 'SLOT_NOT_FOUND':
    case 'CARD_NOT_AT_VENUE':
      return [{ field: 'slot', message: BY_CODE[code] }];
    case 'TOO_SOON': {
      const earliest = (details as { earliest?: unknown } | undefined)?.earliest;
      return [{ field: 'slot', message: typeof earliest === 'string' ? `予約できるのは${earliest.replaceAll('-', '/')}（4開庁日後）からです。それ以降の日を選んでください。` : BY_CODE[code] }];
    }
    case 'ILLEGAL_TRANSITION':
    case 'CARD_CLOSED':
      return [{ message: `この操作は行えませんでした。カードの状態が変わっています${d.state ? `（現在は「${state(d.state)}」）` : ''}。他の職員が先に操作した可能性があります。いまの状態と、いま行える操作を確かめてください。` }];
    default:
      // Messages other modules wrote in Japanese for the pages are shown as they are.
      return [{ message: JAPANESE.test(message) ? message : (BY_CODE[code] ?? '操作を完了できませんでした。入力を確かめて、もう一度行ってください。') }];
  }
}

export function exceptionErrors(e: unknown): PageError[] {
  if (e instanceof DomainException) return pageErrors(e.code, e.message, e.details);
  return pageErrors('INTERNAL_ERROR', '');
}

/** A bulk job's per-card failure (the API's English message), in Japanese. */
export function failureMessage(message: string): string {
  if (/not allowed in state (\w+)/.test(message)) return `カードの状態が「${state(/not allowed in state (\w+)/.exec(message)![1])}」に変わっていたため処理しませんでした。カードのページで確かめてください。`;
  if (/no open \w+ proposal|has no open|proposal/.test(message)) return '提案がすでに取り下げられたか、決定済みのため処理しませんでした。';
  if (/no card|not found/i.test(message)) return 'カードが見つかりませんでした。';
  if (/its story is over|CARD_CLOSED/.test(message)) return 'カードの手続きはすでに終わっています。';
  if (/reason/i.test(message)) return '理由が必要なため処理しませんでした。';
  return 'このカードは処理できませんでした。カードのページで状態を確かめてください。';
}
