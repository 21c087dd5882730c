import { DriverException } from '@mikro-orm/core';
import { ApplicationFailure } from '@temporalio/common';
import { redactedMeta } from '../temporal/runtime.js';
import { RedactingActivityInbound } from './redacting-interceptor.js';

/** A database error as the driver raises it: its message holds the SQL and its parameters. */
function dbError(): DriverException {
  const pg = Object.assign(new Error(`insert into card_resident (name, address) values ('江東 太郎', '江東区東陽4-11-28') - date/time field value out of range: "0000-01-01"`), { code: '22008' });
  const e = new DriverException(pg);
  (e as { code?: string }).code = '22008';
  return e;
}

const SECRET = /江東|0000-01-01|insert into/;

describe('database error text stays out of the worker log and Temporal history', () => {
  const run = (error: unknown) => new RedactingActivityInbound().execute({} as never, () => Promise.reject(error));

  it('an activity failing with a database error fails with only its class and SQL state, still retryable', async () => {
    const thrown = await run(dbError()).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(ApplicationFailure);
    const failure = thrown as ApplicationFailure;
    expect(failure.message).toBe('DriverException (SQL state 22008)');
    expect(failure.message).not.toMatch(SECRET);
    expect(failure.nonRetryable).toBe(false);
  });

  it('a non-retryable failure wrapping one stays non-retryable, without the text', async () => {
    const wrapped = ApplicationFailure.create({ message: 'projection refused', type: 'ProjectionRefused', nonRetryable: true, cause: dbError() });
    const failure = (await run(wrapped).catch((e: unknown) => e)) as ApplicationFailure;
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('ProjectionRefused');
    expect(JSON.stringify({ m: failure.message, c: String(failure.cause ?? '') })).not.toMatch(SECRET);
  });

  it('other errors pass through unchanged', async () => {
    const other = new Error('workflow code bug');
    expect(await run(other).catch((e: unknown) => e)).toBe(other);
  });

  it("the Temporal runtime logger's fields are redacted", () => {
    const meta = redactedMeta({ error: dbError(), activityType: 'projectCard' });
    expect(meta.activityType).toBe('projectCard');
    expect(String((meta.error as Error).message)).toBe('DriverException (SQL state 22008)');
    expect(JSON.stringify({ m: (meta.error as Error).message, s: (meta.error as Error).stack })).not.toMatch(SECRET);
  });
});
