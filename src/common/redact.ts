import { DriverException } from '@mikro-orm/core';

/** The database error in `e` or its chain of causes, if any. */
export function driverErrorIn(e: unknown): DriverException | undefined {
  for (let cur = e, depth = 0; cur && depth < 8; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof DriverException) return cur;
  }
  return undefined;
}

/**
 * A database error's message carries the failed SQL with its parameters, which may be personal
 * data: only its class and SQL state reach a log. The one function for the API's error filter, the
 * worker's activities and the Temporal runtime's logger. An error wrapping one (as its cause) is
 * redacted too.
 */
export function redacted(e: unknown): unknown {
  const driver = driverErrorIn(e);
  if (driver) {
    const safe = new Error(`${driver.name} (SQL state ${String((driver as { code?: string }).code ?? 'unknown')})`);
    safe.stack = `${safe.message}\n${(driver.stack ?? '').split('\n').slice(1).join('\n')}`;
    return safe;
  }
  return e;
}
