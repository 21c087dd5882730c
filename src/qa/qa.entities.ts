import { defineEntity, p } from '@mikro-orm/core';

/**
 * The shared Q&A book: a question reported (by the call center), an answer drafted by staff,
 * approved by the ward before others see it, retired when it no longer holds.
 */
export const QaEntry = defineEntity({
  name: 'QaEntry',
  tableName: 'qa_entry',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    /** reported, draft, approved, retired */
    status: p.string().length(20).index('qa_entry_status_idx'),
    category: p.string().length(60).nullable(),
    question: p.text(),
    answer: p.text().nullable(),
    version: p.integer().default(1),
    createdBy: p.string().length(100),
    updatedBy: p.string().length(100),
    approvedBy: p.string().length(100).nullable(),
    approvedAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});

/** Append-only: every version of every entry, for the auditors. */
export const QaRevision = defineEntity({
  name: 'QaRevision',
  tableName: 'qa_revision',
  properties: {
    id: p.bigint().primary().autoincrement(),
    entryId: p.uuid().index('qa_revision_entry_idx'),
    version: p.integer(),
    status: p.string().length(20),
    category: p.string().length(60).nullable(),
    question: p.text(),
    answer: p.text().nullable(),
    changedBy: p.string().length(100),
    changedRole: p.string().length(20),
    /** reported, drafted, edited, approved, retired */
    change: p.string().length(20),
    changedAt: p.datetime().defaultRaw('now()'),
  },
});
