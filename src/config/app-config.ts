/** Process configuration from the environment. Secrets come only from here and are never logged. */
import { z } from 'zod';

const schema = z.object({
  /** The application's connection: the role `cards_app`, which owns nothing (see ARCHITECTURE.md, database roles). */
  DATABASE_URL: z.string().url(),
  /** The schema owner's connection, for `db migrate` only; the API and the worker never read it. */
  MIGRATION_DATABASE_URL: z.string().url().optional(),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('cards'),
  /** The print worker's task queue (PDF rendering, issue 10). */
  PRINT_TASK_QUEUE: z.string().max(100).default('print'),
  /** Where printed batches are kept (every mailed document with its SHA-256, R-3.4). */
  PRINT_DIR: z.string().max(500).default('.data/print'),
  /** Items per rendered chunk, for every document (unset: 250 letters, 500 postcards); tests use a few. */
  PRINT_CHUNK_ITEMS: z.coerce.number().int().min(1).max(1000).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** The public address residents and staff use: configuration, never code. */
  PUBLIC_URL: z.string().url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().default('development'),
  /** 32 bytes, base64: encrypts stored second-factor secrets. Required in production. */
  DATA_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)')
    .optional(),
  /**
   * Which proxies' `X-Forwarded-For` is believed (Express `trust proxy`: names such as loopback or
   * uniquelocal, addresses, CIDR ranges, comma-separated). Client addresses feed the throttles.
   */
  TRUST_PROXY: z
    .string()
    .max(300)
    .regex(/^[\w.:/, ]+$/, 'names (loopback, linklocal, uniquelocal), addresses or CIDR ranges, comma-separated')
    .default('loopback'),
  /** Throttles (see ARCHITECTURE.md, "Sign-in throttling"): failures allowed per window, then 429 until the block ends. */
  THROTTLE_SIGNIN_PER_ADDRESS_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(10),
  THROTTLE_SIGNIN_PER_ADDRESS: z.coerce.number().int().min(1).max(10000).default(30),
  THROTTLE_TOKEN_PER_ADDRESS: z.coerce.number().int().min(1).max(10000).default(30),
  THROTTLE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  /**
   * How long a registration (API, form, CSV) waits for its cards to become readable before it
   * answers 202 with the ids still pending (see ARCHITECTURE.md, data flow, registration).
   */
  REGISTRATION_WAIT_SECONDS: z.coerce.number().int().min(0).max(120).default(60),
  /** How long an action waits for its card's answer before 503 (the Update may still be applied; a retry with the same key gets its answer). */
  ACTION_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(30_000),
  /** Cards per part of the hand-over list's PDF (`/reports/handover`): 17,000 cards in one PDF took about 3 minutes. */
  HANDOVER_PDF_PART_ROWS: z.coerce.number().int().min(10).max(20_000).default(2_000),
  /**
   * Minutes between the API process's slot generations (the first at its start). 0: none in this
   * process, for a second API process of a deployment, or processes sharing a database whose
   * calendar is generated elsewhere (`npm run cli -- slots generate`; the tests generate once).
   */
  SLOT_GENERATION_MINUTES: z.coerce.number().int().min(0).max(1440).default(60),
});

export type AppConfig = z.infer<typeof schema> & {
  publicUrl: string;
  dataKey: Buffer;
  /** Plain-HTTP loopback development: session cookies without `Secure` under a development name. Never in production. */
  devCookies: boolean;
};

/** A fixed key for development and tests only; production refuses to start without DATA_KEY. */
const DEVELOPMENT_DATA_KEY = Buffer.alloc(32, 'koto-card-development-only-key!!');

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${fields}`);
  }
  const c = parsed.data;
  const production = c.NODE_ENV === 'production';
  const publicUrl = c.PUBLIC_URL ?? `http://localhost:${c.PORT}`;
  const url = new URL(publicUrl);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  return {
    ...c,
    publicUrl,
    // Read when a second-factor secret is sealed or opened: production has no fallback key.
    get dataKey(): Buffer {
      if (c.DATA_KEY) return Buffer.from(c.DATA_KEY, 'base64');
      if (production) throw new Error('invalid configuration: DATA_KEY is required in production (openssl rand -base64 32)');
      return DEVELOPMENT_DATA_KEY;
    },
    devCookies: !production && url.protocol === 'http:' && loopback,
  };
}

/** The configuration as it may be logged: credentials masked. */
export function describeConfig(c: AppConfig): Record<string, unknown> {
  const db = new URL(c.DATABASE_URL);
  if (db.password) db.password = '***';
  return {
    database: db.toString(),
    temporal: `${c.TEMPORAL_ADDRESS}/${c.TEMPORAL_NAMESPACE}`,
    taskQueue: c.TEMPORAL_TASK_QUEUE,
    port: c.PORT,
    publicUrl: c.publicUrl,
    env: c.NODE_ENV,
  };
}
