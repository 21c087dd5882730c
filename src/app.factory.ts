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
import type { AppConfig } from './config/app-config.js';
import { APP_CONFIG } from './config/config.module.js';
import { requestIdOf } from './common/request-id.js';
import { registerViewHelpers } from './web/view-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const tokensDir = join(dirname(createRequire(import.meta.url).resolve('@digital-go-jp/design-tokens/package.json')), 'dist');

const utf8 = new TextDecoder('utf-8', { fatal: true });

function refuseInvalidUtf8(_req: unknown, _res: unknown, buf: Buffer): void {
  try {
    utf8.decode(buf);
  } catch {
    throw Object.assign(new Error('the body is not valid UTF-8'), { status: 400, type: 'encoding.invalid' });
  }
}

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
  // Bytes that are not UTF-8 are refused with 400 rather than stored as U+FFFD (escaped lone
  // surrogates are refused by MyNumberMiddleware's walk, which is iterative: a reviver recurses).
  const jsonOptions = { limit: '2mb', verify: refuseInvalidUtf8 };
  app.useBodyParser('json', jsonOptions);
  app.useBodyParser('urlencoded', { extended: false, limit: '256kb' });
  app.use(cookieParser());
  app.disable('x-powered-by');
  app.set('trust proxy', app.get<AppConfig>(APP_CONFIG).TRUST_PROXY.split(',').map((v) => v.trim()).filter(Boolean));
  // Strict headers for the pages: no inline script or style, no framing. HSTS in production.
  const production = process.env.NODE_ENV === 'production';
  const hsts = production ? { maxAge: 31_536_000, includeSubDomains: true } : false;
  const pageHeaders = helmet({
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], styleSrc: ["'self'"], scriptSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], upgradeInsecureRequests: null },
    },
    hsts,
    // Not helmet's no-referrer: with it browsers send `Origin: null` on the site's own forms, which the same-site check refuses.
    referrerPolicy: { policy: 'same-origin' },
  });
  // Swagger UI loads its own script files and sets inline styles: the same policy, with inline styles allowed.
  const docsHeaders = helmet({
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], styleSrc: ["'self'", "'unsafe-inline'"], scriptSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], upgradeInsecureRequests: null },
    },
    frameguard: { action: 'deny' },
    hsts,
  });
  type Middleware = (a: unknown, b: unknown, c: unknown) => void;
  app.use((req: { path: string }, res: { setHeader(name: string, value: string): void }, next: () => void) => {
    // Pages, card JSON and exports hold personal data: nothing but the static assets may be cached.
    if (!req.path.startsWith('/assets/')) res.setHeader('Cache-Control', 'no-store');
    (req.path.startsWith('/api/docs') ? (docsHeaders as Middleware) : (pageHeaders as Middleware))(req, res, next);
  });
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
