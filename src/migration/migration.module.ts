import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { APP_CONFIG, WARD_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import type { WardConfig } from '../config/ward-config.js';
import { EraTable } from '../printing/japanese-era.js';
import { MigrationPagesController, MigrationUploadMiddleware, UPLOAD_PATHS } from './migration-pages.controller.js';
import { MigrationService } from './migration.service.js';

/** The hand-over import and its integrity check: the office page; the CLI uses the service directly. */
@Module({
  controllers: [MigrationPagesController],
  providers: [
    {
      provide: MigrationService,
      inject: [EntityManager, WARD_CONFIG, APP_CONFIG],
      useFactory: (em: EntityManager, ward: WardConfig, c: AppConfig) =>
        new MigrationService({ em, ward, eras: EraTable.load(), taskQueue: c.TEMPORAL_TASK_QUEUE }),
    },
  ],
  exports: [MigrationService],
})
export class MigrationModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // The upload's multipart body is read before the guard, which checks its CSRF token.
    consumer.apply(MigrationUploadMiddleware).forRoutes(...UPLOAD_PATHS.map((path) => ({ path, method: RequestMethod.POST })));
  }
}
