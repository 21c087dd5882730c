import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { LoggerModule } from 'nestjs-pino';
import { AdminModule } from './admin/admin.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CardsModule } from './cards/cards.module.js';
import { ErrorsFilter } from './common/errors.filter.js';
import { MyNumberMiddleware } from './common/my-number.middleware.js';
import { WebFormsModule } from './web/form-errors.js';
import { loggedPath, requestIdOf } from './common/request-id.js';
import { APP_CONFIG, ConfigModule } from './config/config.module.js';
import type { AppConfig } from './config/app-config.js';
import { ormConfig } from './database/orm.config.js';
import { HealthModule } from './health/health.module.js';
import { QaModule } from './qa/qa.module.js';
import { ReportsModule } from './reports/reports.module.js';
import { WorklistsModule } from './worklists/worklists.module.js';
import { MailingModule } from './mailing/mailing.module.js';
import { TasksModule } from './tasks/tasks.module.js';
import { CalendarModule } from './calendar/calendar.module.js';
import { BookingModule } from './booking/booking.module.js';
import { VenuesModule } from './venues/venues.module.js';
import { CallCenterModule } from './callcenter/callcenter.module.js';
import { ResidentModule } from './resident/resident.module.js';
import { TemporalModule } from './temporal/temporal.module.js';
import { MigrationModule } from './migration/migration.module.js';

@Module({
  imports: [
    ConfigModule,
    WebFormsModule,
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (c: AppConfig) => ({
        pinoHttp: {
          level: c.LOG_LEVEL,
          base: { process: 'api' },
          // Assigned first of all in app.factory.ts (so that body-parser errors carry one too); see request-id.ts.
          genReqId: (req, res) => requestIdOf(req, res),
          // Paths only: query strings may hold names, and bodies personal data; tokens never reach a log.
          serializers: {
            req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, path: loggedPath(req.url) }),
            res: (res: { statusCode: number }) => ({ status: res.statusCode }),
          },
          redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], remove: true },
          autoLogging: { ignore: (req) => req.url === '/api/health' || req.url?.startsWith('/assets/') === true },
        },
      }),
    }),
    MikroOrmModule.forRootAsync({ driver: PostgreSqlDriver, inject: [APP_CONFIG], useFactory: (c: AppConfig) => ormConfig(c.DATABASE_URL) }),
    TemporalModule,
    AuditModule,
    AuthModule,
    CardsModule,
    WorklistsModule,
    ReportsModule,
    QaModule,
    AdminModule,
    HealthModule,
    TasksModule,
    CalendarModule,
    BookingModule,
    VenuesModule,
    CallCenterModule,
    ResidentModule,
    MailingModule,
    MigrationModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: ErrorsFilter }],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(MyNumberMiddleware).forRoutes('*path');
  }
}
