import { Global, Module } from '@nestjs/common';
import { type AppConfig, loadAppConfig } from './app-config.js';
import { type WardConfig, loadWardConfig } from './ward-config.js';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const WARD_CONFIG = Symbol('WARD_CONFIG');
export type { AppConfig, WardConfig };

@Global()
@Module({
  providers: [
    { provide: APP_CONFIG, useFactory: () => loadAppConfig() },
    { provide: WARD_CONFIG, useFactory: () => loadWardConfig() },
  ],
  exports: [APP_CONFIG, WARD_CONFIG],
})
export class ConfigModule {}
