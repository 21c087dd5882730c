import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { closeReportPdf } from '../printing/report-pdf.js';
import { DashboardController } from './dashboard.controller.js';
import { ReportsRepository } from './reports.repository.js';

@Module({ controllers: [DashboardController], providers: [ReportsRepository] })
export class ReportsModule implements OnApplicationShutdown {
  /** The reports' Chromium (launched by the first report PDF) stops with the application. */
  async onApplicationShutdown(): Promise<void> {
    await closeReportPdf();
  }
}
