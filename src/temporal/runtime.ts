import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Logger } from 'pino';
import { redacted } from '../common/redact.js';

/** The SDK's log fields with every error in them (an activity's or a workflow task's failure) redacted like the API's. */
export const redactedMeta = (meta?: Record<string, unknown>): Record<string, unknown> =>
  meta ? Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, redacted(v)])) : {};

/**
 * Routes the Temporal SDK's own logs (worker, replayer, core) into our pino logger, once per process.
 * Must run before any Worker (a replay included) is created. Only the worker process lets the SDK
 * handle SIGINT/SIGTERM (to drain its worker); elsewhere the process's own shutdown runs.
 */
export function installTemporalRuntime(log: Logger, opts: { handleSignals: boolean } = { handleSignals: false }): void {
  const at = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: Record<string, unknown>) => log[level](redactedMeta(meta), message);
  Runtime.install({
    logger: {
      log: (level, message, meta) => at(level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info'))(message, meta),
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
    },
    ...(opts.handleSignals ? {} : { shutdownSignals: [] }),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
}
