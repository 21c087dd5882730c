import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { MailingPagesController } from './mailing-pages.controller.js';
import { MailingService } from './mailing.service.js';

/** Mail batches: notices and re-notices printed on the print worker and handed to the ward (issue 10). */
@Module({ imports: [AuditModule], controllers: [MailingPagesController], providers: [MailingService], exports: [MailingService] })
export class MailingModule {}
