import { Global, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { CardPagesController } from '../cards/card-pages.controller.js';
import { CardsController } from '../cards/cards.controller.js';
import { AccessLogController } from './access-log.controller.js';
import { AccessLogService } from './access-log.service.js';
import { RefusedReadsMiddleware } from './refused-reads.middleware.js';

@Global()
@Module({ controllers: [AccessLogController], providers: [AccessLogService], exports: [AccessLogService] })
export class AuditModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Every route of the card API and the card pages: refused requests for a card are logged.
    consumer.apply(RefusedReadsMiddleware).forRoutes(CardsController, CardPagesController);
  }
}
