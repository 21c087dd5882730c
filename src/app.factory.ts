import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import hbs from 'hbs';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { requestIdOf } from './common/request-id.js';
import { registerViewHelpers } from './web/view-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const tokensDir = join(dirname(createRequire(import.meta.url).resolve('@digital-go-jp/design-tokens/package.json')), 'dist');

/** The API and the staff pages, configured the same way for the server process and the tests. */
export async function createApp(): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  // Every request gets its id before anything can fail (the body parsers' errors carry one too).
  app.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
    requestIdOf(req, res);
    next();
  });
  // A batch of 1,000 cards is about 0.5 MB of JSON; forms are small.
  app.useBodyParser('json', { limit: '2mb' });
  app.useBodyParser('urlencoded', { extended: false, limit: '256kb' });
  app.use(cookieParser());
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Strict headers for the pages: no inline script or style, no framing. Swagger UI keeps its own.
  const pageHeaders = helmet({
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], styleSrc: ["'self'"], scriptSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], upgradeInsecureRequests: null },
    },
    hsts: false,
  });
  app.use((req: { path: string }, res: unknown, next: () => void) => (req.path.startsWith('/api/docs') ? next() : (pageHeaders as (a: unknown, b: unknown, c: unknown) => void)(req, res, next)));
  app.useStaticAssets(join(here, 'web/assets'), { prefix: '/assets/', maxAge: '1h' });
  app.useStaticAssets(tokensDir, { prefix: '/assets/', maxAge: '1h' });
  app.setBaseViewsDir(join(here, 'web/views'));
  app.setViewEngine('hbs');
  registerViewHelpers(hbs.handlebars);
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('My Number card issuance — case management API')
      .setDescription('個人番号カード交付事務 進捗管理システム. Every card is one Temporal workflow; this API registers, finds and moves cards.')
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  return app;
}
