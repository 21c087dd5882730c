import { defineEntity, p } from '@mikro-orm/core';

/** A bulk approval or rejection running in the background: one idempotent Update per card. */
export const BulkJob = defineEntity({
  name: 'BulkJob',
  tableName: 'bulk_job',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    /** Sent with the form: a reload or a second click finds the same job instead of starting another. */
    jobKey: p.string().length(64).unique('bulk_job_job_key_key'),
    userId: p.uuid().index('bulk_job_user_idx'),
    username: p.string().length(100),
    role: p.string().length(20),
    action: p.string().length(40),
    reason: p.text().nullable(),
    data: p.json().nullable(),
    cardIds: p.array().columnType('text[]'),
    done: p.integer().default(0),
    failed: p.integer().default(0),
    /** cardId → error message, for the cards that could not be changed. */
    failures: p.json().nullable(),
    /** running, finished */
    status: p.string().length(20).default('running'),
    /** The API process working on the job, and when it last made progress: one process at a time. */
    claimedBy: p.string().length(64).nullable(),
    heartbeatAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    finishedAt: p.datetime().nullable(),
  },
});

export const SavedSearch = defineEntity({
  name: 'SavedSearch',
  tableName: 'saved_search',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    userId: p.uuid().index('saved_search_user_idx'),
    name: p.string().length(100),
    query: p.text(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
