import { closeSchema, scanSchema } from './reconciliation.schemas.js';

const messages = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) => (r.error?.issues ?? []).map((i) => `${String(i.path[0])}: ${i.message}`);

describe('shelf reconciliation inputs', () => {
  it('accepts a card id, a booking number or a barcode, folding full-width characters and spaces around it', () => {
    expect(scanSchema.parse({ number: ' ＴＡＢＣ－１２３ ', place: ' 棚A-1 ' })).toEqual({ number: 'TABC-123', place: '棚A-1' });
    expect(scanSchema.parse({ number: '１２３４５６７８９０', place: '箱3' }).number).toBe('1234567890');
  });

  it('refuses an empty, too long or foreign-character number, and a missing or too long storage place, in Japanese', () => {
    expect(messages(scanSchema.safeParse({ number: '', place: '棚' }))).toEqual([expect.stringMatching(/^number: カード番号または予約番号を入力してください/)]);
    expect(messages(scanSchema.safeParse({ number: 'A'.repeat(33), place: '棚' }))).toEqual([expect.stringMatching(/^number: カード番号・予約番号は32文字以内です/)]);
    expect(messages(scanSchema.safeParse({ number: 'AB/12', place: '棚' }))).toEqual([expect.stringMatching(/^number: カード番号・予約番号に使える文字は英数字とハイフン/)]);
    expect(messages(scanSchema.safeParse({ number: 'AB\u200b12', place: '棚' }))).toEqual([expect.stringMatching(/^number: カード番号・予約番号に使える文字は/)]);
    expect(messages(scanSchema.safeParse({ number: 'AB12', place: ' ' }))).toEqual(['place: 保管場所を入力してください']);
    expect(messages(scanSchema.safeParse({ number: 'AB12', place: '棚'.repeat(51) }))).toEqual(['place: 保管場所は50文字以内で入力してください']);
    expect(messages(scanSchema.safeParse({ number: 'AB12' }))).toEqual(['place: 保管場所を入力してください']);
  });

  it('closes only with both names, each 1–100 characters without control characters', () => {
    expect(closeSchema.parse({ previousVendorStaff: ' 旧社 太郎 ', ourStaff: '新社 花子', _csrf: 'x' })).toEqual({ previousVendorStaff: '旧社 太郎', ourStaff: '新社 花子' });
    expect(messages(closeSchema.safeParse({ previousVendorStaff: '', ourStaff: '新社 花子' }))).toEqual(['previousVendorStaff: 前の受託者の立会者の氏名を入力してください']);
    expect(messages(closeSchema.safeParse({ previousVendorStaff: '旧社 太郎' }))).toEqual(['ourStaff: 当社の担当者の氏名を入力してください']);
    expect(messages(closeSchema.safeParse({ previousVendorStaff: '名'.repeat(101), ourStaff: '新社\u0007花子' }))).toEqual([
      'previousVendorStaff: 前の受託者の立会者の氏名は100文字以内で入力してください',
      'ourStaff: 当社の担当者の氏名に制御文字は使えません',
    ]);
  });
});
