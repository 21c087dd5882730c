import { Module } from '@nestjs/common';
import { CardsModule } from '../cards/cards.module.js';
import { TasksModule } from '../tasks/tasks.module.js';
import { BookingController } from './booking.controller.js';
import { BookingService } from './booking.service.js';

/** Booking a pickup: slots, the claim through the card's reserve Update, the booker's rules. */
@Module({
  imports: [CardsModule, TasksModule],
  controllers: [BookingController],
  providers: [BookingService],
  exports: [BookingService],
})
export class BookingModule {}
