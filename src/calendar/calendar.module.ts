import { Global, Module } from '@nestjs/common';
import { WARD_CONFIG, type WardConfig } from '../config/config.module.js';
import { SlotsPagesController } from './slots-pages.controller.js';
import { SlotsController } from './slots.controller.js';
import { SlotsRepository } from './slots.repository.js';
import { SlotsService } from './slots.service.js';
import { WardCalendar } from './ward-calendar.js';

/**
 * The ward calendar (venue openings, the call center's hours, business days) from the ward's
 * configuration, and the slots generated from it (`SlotsService`, `SlotsRepository`), with the staff
 * API and the `/slots` page. Global, so that booking, the call center and the venues inject them.
 */
@Global()
@Module({
  controllers: [SlotsController, SlotsPagesController],
  providers: [
    { provide: WardCalendar, inject: [WARD_CONFIG], useFactory: (ward: WardConfig) => new WardCalendar(ward.calendar, ward.venues.map((v) => v.id)) },
    SlotsRepository,
    SlotsService,
  ],
  exports: [WardCalendar, SlotsRepository, SlotsService],
})
export class CalendarModule {}
