import { Module } from '@nestjs/common';
import { CardExportService } from './card-export.service.js';
import { CardExportPageController, CardPagesController } from './card-pages.controller.js';
import { CardsController } from './cards.controller.js';
import { CardsRepository } from './cards.repository.js';
import { CardsService } from './cards.service.js';
import { ReplayService } from './replay.service.js';

@Module({
  controllers: [CardsController, CardExportPageController, CardPagesController],
  providers: [CardsRepository, CardsService, CardExportService, ReplayService],
  exports: [CardsService],
})
export class CardsModule {}
