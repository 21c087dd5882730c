import { Controller, Get, Inject, Render, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { TZDate } from '@date-fns/tz';
import { startOfWeek } from 'date-fns';
import type { Request } from 'express';
import { Allow } from '../auth/auth.types.js';
import { VenueScope } from '../cards/venue-scope.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { PROPOSAL_KINDS, PROPOSAL_LABELS, ROUTE_LABELS, STATE_LABELS, type CardStateName, type Route } from '../../workflows/card-state-machine.js';
import { barChart } from '../web/charts.js';
import { ReportsRepository } from './reports.repository.js';
import { slaLabel } from './sla.js';

@ApiExcludeController()
@Controller()
export class DashboardController {
  constructor(
    private readonly reports: ReportsRepository,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
  ) {}

  @Get()
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor', 'admin')
  @Render('dashboard')
  async dashboard(@Req() req: Request & { web: WebSessionContext }) {
    // Venue staff see their own venue's figures: the repository applies the scope to every figure.
    const scope = VenueScope.of(req.web.user);
    const venue = scope.venueId ?? undefined;
    const weekStart = startOfWeek(new TZDate(Date.now(), 'Asia/Tokyo'), { weekStartsOn: 1 }).toISOString();
    const [byState, byRoute, week, proposals, late, { late: lateCount, returned, noShows }] = await Promise.all([
      this.reports.byState(scope),
      this.reports.byRoute(scope),
      this.reports.thisWeekByVenue(scope, weekStart),
      this.reports.proposals(scope),
      this.reports.lateCards(scope, 20),
      this.reports.totals(scope),
    ]);
    const venueName = (id: string | null) => this.ward.venues.find((v) => v.id === id)?.name ?? '未割当';
    const stateRows = byState.map((r) => ({ label: STATE_LABELS[r.state as CardStateName] ?? r.state, value: r.n, state: r.state }));
    const routeRows = byRoute.map((r) => ({ label: ROUTE_LABELS[r.route as Route] ?? r.route, value: r.n }));
    const proposalRows = PROPOSAL_KINDS.map((k) => ({ kind: k, label: PROPOSAL_LABELS[k], value: proposals.find((p) => p.kind === k)?.n ?? 0 }));
    const weekRows = week.map((w) => ({ venue: venueName(w.venue_id), ...w }));
    const sla = slaLabel(this.ward.policy.noticeSlaMs);
    return {
      title: 'ダッシュボード',
      sla,
      nav: 'dashboard',
      web: req.web,
      venueName: venue ? venueName(venue) : undefined,
      // Administrators manage users and may not open cards or worklists: no links that would answer 403.
      canOpenCards: req.web.user.role !== 'admin',
      canSeeReports: ['ward', 'office', 'auditor', 'admin'].includes(req.web.user.role),
      totals: { cards: stateRows.reduce((a, r) => a + r.value, 0), late: lateCount, returned, noShows, proposals: proposalRows.reduce((a, r) => a + r.value, 0) },
      stateChart: barChart('by-state', '状態別のカード枚数', stateRows),
      stateRows,
      routeChart: barChart('by-route', '交付方式別のカード枚数', routeRows),
      routeRows,
      proposalChart: barChart('proposals', '種類別の承認待ちの提案の件数', proposalRows),
      proposalRows,
      weekChart: barChart('week', '今週（月曜から）交付したカードの枚数（会場別）', weekRows.map((w) => ({ label: w.venue, value: w.issued }))),
      weekRows,
      late,
    };
  }
}
