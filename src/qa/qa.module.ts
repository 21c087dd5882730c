import { Module } from '@nestjs/common';
import { QaPagesController } from './qa-pages.controller.js';
import { QaRepository } from './qa.repository.js';
import { QaService } from './qa.service.js';

/** The shared Q&A book. */
@Module({ controllers: [QaPagesController], providers: [QaRepository, QaService], exports: [QaService] })
export class QaModule {}
