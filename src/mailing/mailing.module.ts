import { Module } from '@nestjs/common';
import { CardsModule } from '../cards/cards.module.js';
import { MailingPagesController } from './mailing-pages.controller.js';
import { MailingService } from './mailing.service.js';
import { ReturnsPagesController } from './returns-pages.controller.js';
import { ReturnsService } from './returns.service.js';
import { WardHandoverPagesController } from './ward-handover-pages.controller.js';

/** Mail batches (notices and re-notices printed on the print worker and handed to the ward) and returned notices (issue 10). */
@Module({ imports: [CardsModule], controllers: [MailingPagesController, ReturnsPagesController, WardHandoverPagesController], providers: [MailingService, ReturnsService], exports: [MailingService] })
export class MailingModule {}
