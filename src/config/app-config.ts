/** Process configuration from the environment. Secrets come only from here and are never logged. */
import { z } from 'zod';

const schema = z.object({
  DATABASE_URL: z.string().url(),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('cards'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** The public address residents and staff use: configuration, never code. */
  PUBLIC_URL: z.string().url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().default('development'),
});

export type AppConfig = z.infer<typeof schema> & { publicUrl: string };

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${fields}`);
  }
  const c = parsed.data;
  return { ...c, publicUrl: c.PUBLIC_URL ?? `http://localhost:${c.PORT}` };
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
