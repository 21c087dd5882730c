/** How the access log reads to an auditor: Japanese labels for its kinds and for the details recorded in English. */
import { ACTION_DEFINITIONS, PROPOSAL_LABELS, type CardAction, type ProposalKind } from '../../workflows/card-state-machine.js';

export const ACCESS_KIND_LABELS: Record<string, string> = {
  read: '閲覧',
  search: '検索',
  export: '出力',
  history: '履歴の閲覧',
  replay: '履歴の再生検査',
  change: '変更',
  register: '登録',
  refused: '拒否（閲覧できず）',
  access_log: 'アクセスログの閲覧',
};

const WORKLIST_LABELS: Record<string, string> = { ...PROPOSAL_LABELS, late: '通知書発送の期限超過', on_hold: '保留（引き抜き）中' };

const QA_LABELS: Record<string, string> = { reported: '質問の報告', drafted: '回答の下書き', edited: '編集', approved: '承認', retired: '廃止' };

const FIXED: Record<string, string> = {
  'card page': 'カード画面',
  'card detail': 'カード詳細（API）',
  'history page': '履歴画面',
  history: '履歴（API）',
  'ward hand-over list': '区へ引き渡すカードの一覧',
  'address corrected for a returned notice; reissue queued for the next notice batch': '返戻された通知書の住所訂正（次のバッチで再送）',
};

const actionLabel = (a: string) => (Object.hasOwn(ACTION_DEFINITIONS, a) ? ACTION_DEFINITIONS[a as CardAction].label : undefined);
const conditions = (q: string) => (q ? `条件: ${decodeURIComponent(q.replace(/\+/g, ' '))}` : '条件なし');

const PATTERNS: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^replayed=(true|false)$/, (m) => `再生検査: ${m[1] === 'true' ? '一致' : '不一致'}`],
  [/^worklist (\w+)$/, (m) => `作業リスト「${WORKLIST_LABELS[m[1] as ProposalKind] ?? m[1]}」`],
  [/^bulk (\w+) \(job ([^)]*)\)$/, (m) => `一括処理「${actionLabel(m[1]) ?? m[1]}」（ジョブ ${m[2]}）`],
  [/^csv export of (\d+) cards(?: \(part (\d+)\))?: ?(.*)$/, (m) => `CSV出力 ${m[1]}件${m[2] ? `（記録 ${m[2]}）` : ''}（${conditions(m[3])}）`],
  [/^search ?(.*)$/, (m) => `検索（${conditions(m[1])}）`],
  [/^access log export of (\d+) entries$/, (m) => `アクセスログのCSV出力 ${m[1]}件`],
  [/^access log view ?(.*)$/, (m) => `アクセスログの閲覧（${conditions(m[1])}）`],
  [/^registered (\d+) of (\d+)( \(form\))?$/, (m) => `${m[2]}件を登録（うち新規 ${m[1]}件${m[3] ? '、画面から' : ''}）`],
  [/^csv upload: registered (\d+) of (\d+)( \(interrupted\))?$/, (m) => `CSVで${m[2]}件を登録（うち新規 ${m[1]}件${m[3] ? '、中断' : ''}）`],
  [/^qa (\S+) (\w+) v(\d+)$/, (m) => `Q&A ${m[1]}：${QA_LABELS[m[2]] ?? m[2]}（第${m[3]}版）`],
  [/^ward hand-over list csv of (\d+) cards$/, (m) => `区へ引き渡すカードのCSV出力 ${m[1]}件`],
  [/^admin: (.*)$/, (m) => `ユーザー管理：${m[1]}`],
  [/^legacy migration run (\d+): imported (\d+) of (\d+)$/, (m) => `前事業者からの移行（取り込み ${m[1]}）：${m[3]}行のうち${m[2]}件を取り込み`],
  [/^migration integrity check (page|csv|pdf) of run (\d+)$/, (m) => `移行データの照合（取り込み ${m[2]}、${m[1] === 'page' ? '画面' : m[1].toUpperCase()}）`],
  // An action's outcome, after its attempt's row (CardsService.act writes the attempt before sending it).
  [/^(.+): refused \((\w+)\)$/, (m) => `${describeDetail(m[1])}（受け付けられず：${m[2]}）`],
  [/^(.+): failed \(error\); it may still be applied$/, (m) => `${describeDetail(m[1])}（エラー：後で反映されることがあります）`],
  [/^(.+): no answer in time \((\w+)\); it may still be applied$/, (m) => `${describeDetail(m[1])}（期限内に応答なし：後で反映されることがあります）`],
  [/^(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) (\d{3})$/, (m) => `${m[1]} ${m[2]} を拒否（${m[3] === '404' ? '見つからないか権限外' : '権限なし'}、${m[3]}）`],
];

/** The detail of an entry in Japanese: an action's label, or a known phrase; anything else as recorded. */
export function describeDetail(detail: string): string {
  const action = actionLabel(detail);
  if (action) return action;
  if (Object.hasOwn(FIXED, detail)) return FIXED[detail];
  for (const [re, fn] of PATTERNS) {
    const m = detail.match(re);
    if (m) {
      try {
        return fn(m);
      } catch {
        return detail;
      }
    }
  }
  return detail;
}
