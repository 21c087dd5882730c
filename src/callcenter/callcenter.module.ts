import { Module } from '@nestjs/common';
import { BookingModule } from '../booking/booking.module.js';
import { CardsModule } from '../cards/cards.module.js';
import { TasksModule } from '../tasks/tasks.module.js';
import { CallCenterController } from './callcenter.controller.js';
import { CallCenterRepository } from './callcenter.repository.js';
import { CallCenterClock, CallCenterHours } from './hours.js';

/** The call center's screens: finding a caller, the caller's card, reissue requests, no-show callbacks. */
@Module({
  imports: [BookingModule, CardsModule, TasksModule],
  controllers: [CallCenterController],
  providers: [CallCenterRepository, CallCenterClock, CallCenterHours],
})
export class CallCenterModule {}
