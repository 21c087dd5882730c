/**
 * zod, evaluated once per worker (the worker preloads this module: see preloadedWorkflowModules in
 * src/worker/card-worker.ts) instead of once per new card workflow. zod sets its defaults (the
 * English messages, the memoizer) when the first schema is built; building one here sets them
 * before the SDK freezes what preloaded modules share. No schema this module builds is exported:
 * zod writes to a schema while it parses, and a frozen one would throw.
 */
import { z } from 'zod';

// Every part of zod the workflows use (z.iso too), so that none of it is evaluated per workflow.
z.object({ preload: z.string(), on: z.iso.date() }).safeParse({ preload: 'zod', on: '2026-01-01' });
