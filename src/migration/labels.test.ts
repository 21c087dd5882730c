import { describeDetail } from '../audit/access-log-labels.js';
import { CHANNEL_LABELS } from '../web/view-helpers.js';
import { SYSTEM_EVENT_LABELS } from '../../workflows/card-state-machine.js';

describe('the import in Japanese for staff and auditors', () => {
  it('names the migrated event, its channel and its access-log entries', () => {
    expect(SYSTEM_EVENT_LABELS.migrated).toBe('前事業者からの移行');
    expect(CHANNEL_LABELS.migration).toBe('移行');
    expect(describeDetail('legacy migration run 12: imported 16990 of 17000')).toBe('前事業者からの移行（取り込み 12）：17000行のうち16990件を取り込み');
    expect(describeDetail('migration integrity check pdf of run 12')).toBe('移行データの照合（取り込み 12、PDF）');
  });
});
