import { ACTION_DEFINITIONS } from '../../workflows/card-state-machine.js';
import { nextSteps, nextStepsText } from './next-steps.js';

const actions = (route: Parameters<typeof nextSteps>[0]['route'], state: Parameters<typeof nextSteps>[0]['state'], proposals: Parameters<typeof nextSteps>[0]['proposals'] = []) =>
  nextSteps({ route, state, proposals }).map((s) => s.action);

describe('next steps of an open card, from the action table', () => {
  it('follows the main path of each route, without the side roads every open card has', () => {
    expect(actions('pickup', 'received')).toEqual(['inspect']);
    expect(actions('pickup', 'inspected')).toEqual(['ship_to_venue']);
    expect(actions('pickup', 'at_venue')).toEqual(['mail_notice', 'reserve']);
    expect(actions('counter', 'inspected')).toEqual(['hand_to_ward']);
    expect(actions('express', 'received')).toEqual(['record_jlis_mailing']);
    expect(actions('pickup', 'on_hold')).toEqual(['release_hold']);
    expect(actions('pickup', 'reserved')).toEqual(['reserve', 'cancel_reservation', 'issue', 'mark_documents_missing']);
  });

  it('names the proposal a card holds as its next step, and the roles that decide it', () => {
    expect(actions('pickup', 'reserved', ['no_show'])).toContain('confirm_no_show');
    const discard = nextSteps({ route: 'pickup', state: 'renoticed', proposals: ['discard'] }).find((s) => s.action === 'approve_discard');
    expect(discard?.roles).toEqual(['ward']);
    expect(actions('pickup', 'renoticed')).not.toContain('approve_discard');
  });

  it('shows the side roads when nothing else is possible (removed from the register, no proposal yet)', () => {
    expect(actions('pickup', 'removed')).toEqual(['pull_out', 'propose_discard']);
  });

  it('writes the steps in Japanese with their roles', () => {
    expect(nextStepsText(nextSteps({ route: 'pickup', state: 'received', proposals: [] }))).toBe(`${ACTION_DEFINITIONS.inspect.label}［事務センター］`);
  });
});
