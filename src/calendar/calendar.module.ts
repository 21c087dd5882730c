import { Global, Module } from '@nestjs/common';
import { WARD_CONFIG, type WardConfig } from '../config/config.module.js';
import { WardCalendar } from './ward-calendar.js';

/** The ward calendar (venue openings, the call center's hours, business days), from the ward's configuration. */
@Global()
@Module({
  providers: [{ provide: WardCalendar, inject: [WARD_CONFIG], useFactory: (ward: WardConfig) => new WardCalendar(ward.calendar, ward.venues.map((v) => v.id)) }],
  exports: [WardCalendar],
})
export class CalendarModule {}
