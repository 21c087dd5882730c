import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { MailingRepository } from '../mailing/mailing.repository.js';
import { CardExportService } from './card-export.service.js';
import { CardExportPageController, CardPagesController } from './card-pages.controller.js';
import { CardsController } from './cards.controller.js';
import { CardsRepository } from './cards.repository.js';
import { CardsService } from './cards.service.js';
import { CsvUploadMiddleware, RegistrationPagesController, UPLOAD_PATH } from './registration-pages.controller.js';
import { ReplayService } from './replay.service.js';
import { SavedSearchesRepository } from './saved-searches.repository.js';
import { StuckCardsPageController } from './stuck-cards-page.controller.js';
import { CardStorageRepository } from '../venues/card-storage.repository.js';

@Module({
  controllers: [CardsController, CardExportPageController, CardPagesController, RegistrationPagesController, StuckCardsPageController],
  providers: [
    CardsRepository,
    CardsService,
    CardExportService,
    ReplayService,
    SavedSearchesRepository,
    CardStorageRepository,
    // The card page lists the notices mailed to the card.
    { provide: MailingRepository, inject: [EntityManager], useFactory: (em: EntityManager) => new MailingRepository(em) },
  ],
  exports: [CardsService, CardStorageRepository],
})
export class CardsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // The CSV upload's multipart body is read before the guard, which checks its CSRF token.
    consumer.apply(CsvUploadMiddleware).forRoutes({ path: UPLOAD_PATH, method: RequestMethod.POST });
  }
}
