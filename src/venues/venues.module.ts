import { Module } from '@nestjs/common';
import { BookingModule } from '../booking/booking.module.js';
import { CardsModule } from '../cards/cards.module.js';
import { TasksModule } from '../tasks/tasks.module.js';
import { ReconciliationPagesController } from './reconciliation-pages.controller.js';
import { ReconciliationRepository } from './reconciliation.repository.js';
import { TaskPagesController } from './task-pages.controller.js';
import { VENUE_DESK_CONFIG, loadVenueDeskConfig } from './venue-desk.config.js';
import { VenueDeskRepository } from './venue-desk.repository.js';
import { VenuePagesController } from './venue-pages.controller.js';
import { WalkInPagesController } from './walk-in-pages.controller.js';

/** The venues' desk (R-5.1–R-5.5) and the task lists. `CardStorageRepository` comes from CardsModule (the receipt form sets it). */
@Module({
  imports: [CardsModule, TasksModule, BookingModule],
  controllers: [VenuePagesController, WalkInPagesController, TaskPagesController, ReconciliationPagesController],
  providers: [VenueDeskRepository, ReconciliationRepository, { provide: VENUE_DESK_CONFIG, useFactory: () => loadVenueDeskConfig() }],
})
export class VenuesModule {}
