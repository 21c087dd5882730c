import { Module } from '@nestjs/common';
import { CardsModule } from '../cards/cards.module.js';
import { WorklistsController } from './worklists.controller.js';
import { WorklistsService } from './worklists.service.js';

@Module({ imports: [CardsModule], controllers: [WorklistsController], providers: [WorklistsService] })
export class WorklistsModule {}
