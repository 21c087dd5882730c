import { ACTIONS, type CardSnapshot, check } from '../../workflows/card-state-machine.js';
import { actionButtonLabel, failureMessage, isDangerAction, pageErrors, reasonField } from './messages.js';

/** English words (acronyms such as URL are fine). */
const ENGLISH = /[a-z]{3,}/;

describe('page messages', () => {
  it('labels every action button once, without a doubled verb', () => {
    for (const action of ACTIONS) expect([action, actionButtonLabel(action)]).not.toEqual([action, expect.stringMatching(/を(記録|承認|取消|却下|解除|発送|提案|確定)を記録/)]);
    expect(actionButtonLabel('record_reissue_request')).toBe('再発行依頼を記録');
    expect(actionButtonLabel('approve_discard')).toBe('廃棄を承認');
    expect(actionButtonLabel('cancel_reservation')).toBe('予約を取消');
    expect(actionButtonLabel('issue')).toBe('交付を記録');
  });

  it('makes only the irreversible losses red, and asks for a reason only where it is required or useful', () => {
    expect(ACTIONS.filter(isDangerAction)).toEqual(['approve_discard']);
    expect(reasonField('issue')).toBeUndefined();
    expect(reasonField('inspect')).toBeUndefined();
    expect(reasonField('pull_out')).toBe('required');
    expect(reasonField('release_hold')).toBe('optional');
  });

  it('turns the state machine rejections into Japanese, beside their field', () => {
    const card: CardSnapshot = { cardId: 'C1', route: 'pickup', state: 'at_venue', seq: 1, venueId: 'kuyakusho', hasPhone: false, receivedAt: 0, late: false, proposals: [], rejected: [] };
    const now = Date.parse('2026-11-01T00:00:00Z');
    const backwards = check(card, { action: 'reserve', role: 'callcenter', data: { startsAt: '2026-12-01T10:00:00+09:00', endsAt: '2026-12-01T09:00:00+09:00' } }, now)!;
    expect(pageErrors(backwards.code, backwards.message)).toEqual([{ field: 'endsAt', message: expect.stringContaining('終了日時が開始日時より前です') }]);
    const conflict = check(card, { action: 'inspect', role: 'office' }, now)!;
    const [shown] = pageErrors(conflict.code, conflict.message);
    expect(shown.message).toContain('カードの状態が変わっています');
    expect(shown.message).not.toMatch(ENGLISH);
    const blank = check(card, { action: 'pull_out', role: 'office' }, now)!;
    expect(pageErrors(blank.code, blank.message)).toEqual([{ field: 'reason', message: expect.stringContaining('理由を入力してください') }]);
    // A bulk job's per-card failure, as the API words it, reads in Japanese.
    expect(failureMessage(conflict.message)).toBe('カードの状態が「会場保管中」に変わっていたため処理しませんでした。カードのページで確かめてください。');
    const noProposal = check(card, { action: 'approve_renotice', role: 'ward' }, now);
    expect(failureMessage(noProposal?.message ?? 'approve_renotice needs an open renotice proposal')).not.toMatch(ENGLISH);
  });

  it('never shows an English message or a My Number on a page', () => {
    for (const code of ['NOT_FOUND', 'FORBIDDEN', 'CARD_NOT_FOUND', 'CSRF', 'INTERNAL_ERROR', 'SOMETHING_NEW']) {
      for (const e of pageErrors(code, 'Cannot GET /nonexistent')) expect([code, e.message]).not.toEqual([code, expect.stringMatching(ENGLISH)]);
    }
    expect(pageErrors('MY_NUMBER_REFUSED', 'field reason holds …', { field: 'reason' })).toEqual([{ field: 'reason', message: expect.stringContaining('個人番号') }]);
  });
});
