import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { closeReportPdf } from '../printing/report-pdf.js';
import { VENUE_DESK_CONFIG, loadVenueDeskConfig } from '../venues/venue-desk.config.js';
import { DashboardController } from './dashboard.controller.js';
import { MonthlyReportsRepository } from './monthly-reports.repository.js';
import { MonthlyReportsService } from './monthly-reports.service.js';
import { ReportPagesController } from './report-pages.controller.js';
import { ReportsRepository } from './reports.repository.js';

@Module({
  controllers: [DashboardController, ReportPagesController],
  providers: [ReportsRepository, MonthlyReportsRepository, MonthlyReportsService, { provide: VENUE_DESK_CONFIG, useFactory: () => loadVenueDeskConfig() }],
})
export class ReportsModule implements OnApplicationShutdown {
  /** The reports' Chromium (launched by the first report PDF) stops with the application. */
  async onApplicationShutdown(): Promise<void> {
    await closeReportPdf();
  }
}
