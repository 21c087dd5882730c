import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller.js';
import { ReportsRepository } from './reports.repository.js';

@Module({ controllers: [DashboardController], providers: [ReportsRepository] })
export class ReportsModule {}
