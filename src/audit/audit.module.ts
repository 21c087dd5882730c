import { Global, Module } from '@nestjs/common';
import { AccessLogController } from './access-log.controller.js';
import { AccessLogService } from './access-log.service.js';

@Global()
@Module({ controllers: [AccessLogController], providers: [AccessLogService], exports: [AccessLogService] })
export class AuditModule {}
