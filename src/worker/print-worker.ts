/**
 * The print worker: rendering activities on the `print` task queue (DESIGN decision 6), apart from
 * the card workers, since Chromium is heavy. One browser per process, reused for every batch.
 */
import { resolve } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { createPrintActivities } from '../../activities/create-mailing-activities.js';
import type { WardConfig } from '../config/ward-config.js';
import { FontCoverage, resolveFontFile } from '../printing/glyph-coverage.js';
import { EraTable } from '../printing/japanese-era.js';
import { loadPrintConfig } from '../printing/print-config.js';
import { PdfRenderer } from '../printing/pdf-renderer.js';
import { redactingActivityInterceptor } from './redacting-interceptor.js';

export interface PrintWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  orm: MikroORM;
  ward: WardConfig;
  publicUrl: string;
  printDir: string;
  /** Items per chunk (tests use a few, to interrupt a render between chunks). */
  chunkItems?: number;
}

export async function createPrintWorker(opts: PrintWorkerOptions): Promise<{ worker: Worker; renderer: PdfRenderer }> {
  const print = loadPrintConfig();
  const font = FontCoverage.open(resolveFontFile(print.font));
  const renderer = new PdfRenderer({ fontFamily: font.name, fontsDir: resolve('fonts'), concurrency: Number(process.env.PRINT_CONCURRENCY ?? 1) || 1 });
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createPrintActivities({
      orm: opts.orm,
      renderer,
      font,
      eras: EraTable.load(),
      ward: opts.ward,
      printDir: opts.printDir,
      chunkItems: opts.chunkItems,
      shared: { wardName: opts.ward.name, bookingUrl: new URL(print.bookingPath, opts.publicUrl).toString(), callCenter: print.callCenter, bring: print.bring },
    }),
    interceptors: { activity: [redactingActivityInterceptor] },
    // Each render uses the browser's pages two at a time already.
    maxConcurrentActivityTaskExecutions: 2,
  });
  return { worker, renderer };
}
