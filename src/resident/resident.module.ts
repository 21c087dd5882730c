import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Module, type OnModuleInit } from '@nestjs/common';
import hbs from 'hbs';
import { AuthModule } from '../auth/auth.module.js';
import { loadResidentConfig } from './resident-config.js';
import { isLanguage, translator } from './resident-i18n.js';
import { ResidentAuthService } from './resident-auth.service.js';
import { ResidentLocksModule } from './resident-locks.js';
import { ResidentPagesController } from './resident-pages.controller.js';
import { RESIDENT_CONFIG } from './resident.tokens.js';
import { BookingModule } from '../booking/booking.module.js';

/** The residents' pages (`/booking`): sign-in with the booking number, booking in four languages. */
@Module({
  imports: [AuthModule, BookingModule, ResidentLocksModule],
  controllers: [ResidentPagesController],
  providers: [ResidentAuthService, { provide: RESIDENT_CONFIG, useFactory: () => loadResidentConfig() }],
})
export class ResidentModule implements OnModuleInit {
  onModuleInit(): void {
    const views = join(dirname(fileURLToPath(import.meta.url)), '../web/views/resident');
    hbs.handlebars.registerPartial('residentSlot', readFileSync(join(views, 'slot.hbs'), 'utf8'));
    // `{{rt "key" name=value}}`: a message in the page's language (the view's root `lang`).
    hbs.handlebars.registerHelper('rt', function (key: string, options: { hash?: Record<string, unknown>; data?: { root?: { lang?: unknown } } }) {
      const lang = options.data?.root?.lang;
      return translator(isLanguage(lang) ? lang : 'ja')(key, options.hash ?? {});
    });
  }
}
