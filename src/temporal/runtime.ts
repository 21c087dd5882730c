import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Logger } from 'pino';
import { redacted } from '../common/redact.js';

/**
 * Routes the Temporal SDK's own logs (worker, replayer, core) into our pino logger, once per process.
 * Must run before any Worker (a replay included) is created. Only the worker process lets the SDK
 * handle SIGINT/SIGTERM (to drain its worker); elsewhere the process's own shutdown runs.
 */
export function installTemporalRuntime(log: Logger, opts: { handleSignals: boolean } = { handleSignals: false }): void {
  // Errors in the SDK's log fields (an activity's or a workflow task's failure) are redacted like the API's.
  const safe = (meta?: Record<string, unknown>) => (meta ? Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, redacted(v)])) : {});
  const at = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: Record<string, unknown>) => log[level](safe(meta), message);
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
