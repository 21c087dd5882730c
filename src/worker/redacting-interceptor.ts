/**
 * Keeps database error text out of the worker's log and out of Temporal history: an activity that
 * fails with a database error (whose message holds the SQL parameters, personal data) fails with a
 * message naming only the error class and SQL state. Whether it may be retried is kept.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { driverErrorIn, redacted } from '../common/redact.js';

export class RedactingActivityInbound implements ActivityInboundCallsInterceptor {
  async execute(input: Parameters<NonNullable<ActivityInboundCallsInterceptor['execute']>>[0], next: Parameters<NonNullable<ActivityInboundCallsInterceptor['execute']>>[1]): Promise<unknown> {
    try {
      return await next(input);
    } catch (e) {
      const driver = driverErrorIn(e);
      if (!driver) throw e;
      const safe = redacted(e) as Error;
      throw ApplicationFailure.create({
        message: safe.message,
        type: e instanceof ApplicationFailure && e.type ? e.type : driver.name,
        nonRetryable: e instanceof ApplicationFailure && e.nonRetryable === true,
      });
    }
  }
}

export const redactingActivityInterceptor: ActivityInterceptorsFactory = () => ({ inbound: new RedactingActivityInbound() });
