/**
 * Operator commands: `npm run cli -- <command>`. Against the running `npm start` system by default
 * (it leaves .data/local-stack.json), or DATABASE_URL / TEMPORAL_ADDRESS from the environment.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { createInterface } from 'node:readline/promises';
import { AuthService } from './auth/auth.service.js';
import { WebAuthRepository } from './auth/web-auth.repository.js';
import { WebAuthService } from './auth/web-auth.service.js';
import { loadAppConfig } from './config/app-config.js';
import { UsersRepository } from './auth/users.repository.js';
import { loadWardConfig } from './config/ward-config.js';
import { SlotsRepository } from './calendar/slots.repository.js';
import { SlotsService } from './calendar/slots.service.js';
import { generationRangeSchema } from './calendar/slots.controller.js';
import { WardCalendar } from './calendar/ward-calendar.js';
import { createMigration, migrate, openOrm } from './database/database.js';
import { replayHistory } from './worker/replay.js';
import { captureCardHistory } from './worker/capture-history.js';
import { patchStatus } from './worker/patches.js';
import { installTemporalRuntime } from './temporal/runtime.js';
import { pino } from 'pino';
import { cardWorkflowId, policyChangedSignal } from '../workflows/card-messages.js';
import { EraTable } from './printing/japanese-era.js';
import { MigrationService } from './migration/migration.service.js';
import { FIELD_LABELS } from './migration/parser.js';
import { checkIntegrity, integrityCsv, integrityPdf } from './migration/integrity.js';
import { closeReportPdf } from './printing/report-pdf.js';

const USAGE = `usage: npm run cli -- <command>
  user create --name NAME --role ward|office|callcenter|venue|auditor|admin [--venue VENUE] [--display NAME]
  user password --name NAME [--password P]     sets a sign-in password (asked for when not given)
  user unlock --name NAME                       unlocks an account locked after failed sign-ins
  user totp-code --name NAME                    the current TOTP code of a demo user (.data/demo-users.json)
  token create --user NAME [--label LABEL]     prints a new API token (shown once)
  token revoke --id TOKEN_ID
  card replay CARD_ID                           replays the card's history against the current workflow code
  card history CARD_ID [--out FILE]             writes the card's Temporal history as JSON
  card capture CARD_ID --name NAME              saves every run of the card's history to test/histories/NAME[-runN].json
                                                for the replay test ([--dir DIR] elsewhere)
  patch status PATCH_ID [--since ISO_TIME]       running cards that predate a workflow patch (exit 1 while any do):
                                                deprecatePatch(PATCH_ID) only when none do; --since = when it was deployed
  policy apply                                  sends the ward's current policy to every open card
  slots generate [--from DATE] [--to DATE]      generates the venues' slots from the ward calendar (default: the horizon
                                                from today); idempotent, as the API does at start and every hour
  migrate legacy FILE --mapping MAPPING [--gaiji TABLE] [--dry-run] [--user NAME]
                                                imports the previous vendor's export (R-11.1): the dry run lists every row,
                                                imported or refused with the field and the reason; the real run starts a
                                                card per row in its mapped state, resumes an interrupted run, skips rows
                                                already imported
  migrate check RUN_ID [--out FILE.csv] [--pdf FILE.pdf]
                                                the integrity check of an import (R-11.3): old against new, row by row and
                                                in totals, every difference listed (exit 1 when any); CSV and signable PDF
  db migrate                                    applies pending migrations (as MIGRATION_DATABASE_URL, the owner)
  db migration:create [NAME]                    writes a migration for entity changes`;

function endpoints(): { databaseUrl?: string; migrationDatabaseUrl?: string; temporalAddress: string } {
  const local = existsSync('.data/local-stack.json') ? JSON.parse(readFileSync('.data/local-stack.json', 'utf8')) : {};
  return {
    databaseUrl: process.env.DATABASE_URL ?? local.databaseUrl,
    // Migrations run as the schema's owner; without a separate owner connection, as DATABASE_URL.
    migrationDatabaseUrl: process.env.MIGRATION_DATABASE_URL ?? (process.env.DATABASE_URL ? undefined : local.migrationDatabaseUrl),
    temporalAddress: process.env.TEMPORAL_ADDRESS ?? local.temporalAddress ?? '127.0.0.1:7233',
  };
}

function databaseUrl(): string {
  const url = endpoints().databaseUrl;
  if (!url) throw new Error('no database: start the system with `npm start`, or set DATABASE_URL');
  return url;
}

async function withAuth<T>(fn: (auth: AuthService) => Promise<T>): Promise<T> {
  const orm = await openOrm(databaseUrl());
  try {
    return await fn(new AuthService(new UsersRepository(orm.em)));
  } finally {
    await orm.close();
  }
}

async function withWebAuth<T>(fn: (auth: WebAuthService) => Promise<T>): Promise<T> {
  const orm = await openOrm(databaseUrl());
  try {
    const dataKey = process.env.DATA_KEY ?? (existsSync('.data/data.key') ? readFileSync('.data/data.key', 'utf8').trim() : undefined);
    const config = loadAppConfig({ ...process.env, DATABASE_URL: databaseUrl(), ...(dataKey ? { DATA_KEY: dataKey } : {}) });
    return await fn(new WebAuthService(new WebAuthRepository(orm.em), config));
  } finally {
    await orm.close();
  }
}

async function ask(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: endpoints().temporalAddress });
  try {
    return await fn(new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' }));
  } finally {
    await connection.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      role: { type: 'string' },
      venue: { type: 'string' },
      display: { type: 'string' },
      user: { type: 'string' },
      label: { type: 'string' },
      id: { type: 'string' },
      out: { type: 'string' },
      dir: { type: 'string' },
      since: { type: 'string' },
      password: { type: 'string' },
      from: { type: 'string' }, to: { type: 'string' },
      mapping: { type: 'string' },
      gaiji: { type: 'string' },
      'dry-run': { type: 'boolean' },
      pdf: { type: 'string' },
    },
  });
  const [group, command, arg] = positionals;
  switch (`${group} ${command}`) {
    case 'user create': {
      if (!values.name || !values.role) break;
      const user = await withAuth((a) => a.createUser({ username: values.name!, role: values.role!, venueId: values.venue, displayName: values.display }));
      console.log(`created user ${user.username} (${user.role})`);
      return 0;
    }
    case 'user password': {
      if (!values.name) break;
      const password = values.password ?? (await ask(`password for ${values.name}: `));
      if (password.length < 12) throw new Error('a password has at least 12 characters');
      await withWebAuth((w) => w.setPassword(values.name!, password));
      console.log(`set the password of ${values.name}`);
      return 0;
    }
    case 'user unlock': {
      if (!values.name) break;
      await withWebAuth((w) => w.unlock(values.name!));
      console.log(`unlocked ${values.name}`);
      return 0;
    }
    case 'user totp-code': {
      if (!values.name) break;
      const demo = existsSync('.data/demo-users.json') ? (JSON.parse(readFileSync('.data/demo-users.json', 'utf8')) as { user: string; totpSecret?: string }[]) : [];
      const secret = demo.find((u) => u.user === values.name)?.totpSecret;
      if (!secret) throw new Error(`no demo TOTP secret for ${values.name}`);
      console.log(await WebAuthService.totp(secret));
      return 0;
    }
    case 'token create': {
      if (!values.user) break;
      const { id, token } = await withAuth((a) => a.createToken(values.user!, values.label ?? 'cli'));
      console.log(`token ${id} for ${values.user} (shown once; keep it secret):`);
      console.log(token);
      return 0;
    }
    case 'token revoke': {
      if (!values.id) break;
      await withAuth((a) => a.revokeToken(values.id!));
      console.log(`revoked ${values.id}`);
      return 0;
    }
    case 'card replay': {
      if (!arg) break;
      const result = await withClient(async (client) => replayHistory(cardWorkflowId(arg), await client.workflow.getHandle(cardWorkflowId(arg)).fetchHistory()));
      console.log(result.replayed ? `card ${arg}: its history replays against the current code` : `card ${arg}: replay FAILED: ${result.error}`);
      return result.replayed ? 0 : 1;
    }
    case 'card history': {
      if (!arg) break;
      const json = await withClient(async (client) => historyToJSON(await client.workflow.getHandle(cardWorkflowId(arg)).fetchHistory()));
      if (values.out) writeFileSync(values.out, json);
      else console.log(json);
      return 0;
    }
    case 'card capture': {
      if (!arg || !values.name) break;
      const files = await withClient((client) => captureCardHistory(client, arg, values.name!, values.dir ?? 'test/histories'));
      for (const f of files) console.log(`wrote ${f.file} (${f.events} events, ${f.bytes} bytes)`);
      return 0;
    }
    case 'patch status': {
      if (!arg || !/^[a-z0-9-]{1,80}$/.test(arg)) break;
      const since = values.since === undefined ? undefined : new Date(values.since);
      if (since && Number.isNaN(since.getTime())) throw new Error(`--since ${values.since}: not a date and time`);
      const s = await withClient((client) => patchStatus(client, arg, { since }));
      console.log(`patch ${arg}: ${s.running} running cards, ${s.marked} with its marker, ${s.predating.length} predating it`);
      for (const p of s.predating.slice(0, 20)) console.log(`  ${p.workflowId} run ${p.runId} started ${p.startedAt}`);
      if (s.predating.length > 20) console.log(`  … and ${s.predating.length - 20} more`);
      console.log(s.predating.length === 0 ? 'no running card predates it: it may be deprecated (deprecatePatch), then removed once no card runs the deprecated marker' : 'keep the patch');
      return s.predating.length === 0 ? 0 : 1;
    }
    case 'policy apply': {
      const policy = loadWardConfig().policy;
      const orm = await openOrm(databaseUrl());
      let sent = 0;
      try {
        const open = await orm.em.fork().execute<{ card_id: string }[]>(`select card_id from card where closed_at is null`);
        await withClient(async (client) => {
          for (const { card_id } of open) {
            await client.workflow.getHandle(cardWorkflowId(card_id)).signal(policyChangedSignal, policy);
            sent++;
          }
        });
      } finally {
        await orm.close();
      }
      console.log(`sent the current policy to ${sent} open cards`);
      return 0;
    }
    case 'slots generate': {
      const ward = loadWardConfig();
      const orm = await openOrm(databaseUrl());
      try {
        const slots = new SlotsService(new WardCalendar(ward.calendar, ward.venues.map((v) => v.id)), new SlotsRepository(orm.em));
        const horizon = slots.horizon();
        const range = generationRangeSchema.safeParse({ from: values.from ?? horizon.from, to: values.to ?? horizon.to });
        if (!range.success) throw new Error('--from/--to: ISO dates (YYYY-MM-DD), from before to, at most 400 days');
        const r = await slots.generate(range.data);
        console.log(`slots ${r.from}..${r.to}: ${r.inserted} new, ${r.opened} opened, ${r.closed} closed`);
      } finally {
        await orm.close();
      }
      return 0;
    }
    case 'migrate legacy': {
      if (!arg || !values.mapping) break;
      return migrateLegacy(arg, values.mapping, { gaiji: values.gaiji, dryRun: values['dry-run'] ?? false, user: values.user ?? 'cli' });
    }
    case 'migrate check': {
      if (!arg || !/^[1-9][0-9]{0,17}$/.test(arg)) break;
      const orm = await openOrm(databaseUrl());
      try {
        const report = await checkIntegrity(orm.em, loadWardConfig(), arg);
        if (values.out) writeFileSync(values.out, `\uFEFF${integrityCsv(report)}`);
        if (values.pdf) {
          const pdf = await integrityPdf(report, values.pdf);
          console.log(`wrote ${pdf.file} (${pdf.pages} pages, sha256 ${pdf.sha256})`);
          await closeReportPdf();
        }
        console.log(`run ${arg} (${report.vendor}, ${report.fileName}): ${report.rows.length} rows, ${report.matching} match, ${report.differences.length} differences`);
        for (const t of report.totals.filter((t) => t.old !== t.now)) console.log(`  total ${t.dimension} ${t.key}: old ${t.old}, now ${t.now}`);
        for (const d of report.differences) console.log(`  row ${d.row}${d.cardId ? ` (${d.cardId})` : ''} ${d.item}: ${d.old} → ${d.now}`);
        return report.differences.length ? 1 : 0;
      } finally {
        await orm.close();
      }
    }
    case 'db migrate': {
      const applied = await migrate(endpoints().migrationDatabaseUrl ?? databaseUrl());
      console.log(applied.length ? `applied ${applied.join(', ')}` : 'the schema is up to date');
      return 0;
    }
    case 'db migration:create': {
      const file = await createMigration(databaseUrl(), arg);
      console.log(file ? `wrote ${file}; add it to src/database/migrations/index.ts` : 'no schema changes');
      return 0;
    }
  }
  console.error(USAGE);
  return 2;
}

/** `migrate legacy`: the dry run's rows on stdout (tab-separated), or the real run with a progress bar on stderr. */
async function migrateLegacy(file: string, mappingFile: string, opts: { gaiji?: string; dryRun: boolean; user: string }): Promise<number> {
  const orm = await openOrm(databaseUrl());
  try {
    const service = new MigrationService({ em: orm.em, ward: loadWardConfig(), eras: EraTable.load(), taskQueue: process.env.TEMPORAL_TASK_QUEUE ?? 'cards' });
    const prepared = service.prepare({
      fileName: basename(file),
      export: readFileSync(file),
      mapping: readFileSync(mappingFile),
      gaiji: opts.gaiji ? readFileSync(opts.gaiji) : undefined,
    });
    const dry = await service.dryRun(prepared);
    if (dry.fileErrors.length) {
      for (const e of dry.fileErrors) console.error(`error: ${e}`);
      return 1;
    }
    if (opts.dryRun) {
      const label = { import: '取り込む', imported: '取り込み済み', refused: '取り込まない' } as const;
      console.log(['行', 'カード番号', '結果', '項目', '理由', '手書き'].join('\t'));
      for (const r of dry.rows) console.log([r.row, r.cardId ?? '', label[r.status], r.field ? (FIELD_LABELS[r.field as keyof typeof FIELD_LABELS] ?? r.field) : '', r.reason ?? '', r.handwriting || ''].join('\t'));
      console.error(`${dry.vendor} ${dry.fileName}: ${dry.total} rows, ${dry.toImport} to import, ${dry.alreadyImported} already imported, ${dry.refused} refused (dry run: nothing saved)`);
      return 0;
    }
    const bar = new SingleBar({ format: 'migrate [{bar}] {percentage}% {value}/{total} rows | imported {imported} existed {existed} refused {refused} | {eta_formatted} left', stream: process.stderr, noTTYOutput: true, notTTYSchedule: 2000 }, Presets.shades_classic);
    bar.start(dry.total, 0, { imported: 0, existed: 0, refused: 0 });
    const runId = await service.openRun(prepared, { username: opts.user });
    const before = await service.progress(runId);
    bar.update(before.imported + before.existed + before.refused, before);
    const p = await service.run(prepared, { username: opts.user, role: 'system' }, { onProgress: (c) => bar.update(c.done, c) }, runId);
    bar.update(p.imported + p.existed + p.refused, p);
    bar.stop();
    console.log(`run ${p.runId} ${p.status}: ${p.total} rows, ${p.imported} imported, ${p.existed} already imported, ${p.refused} refused`);
    for (const r of (await service.runRows(runId)).filter((r) => r.outcome === 'refused')) console.log(`  row ${r.row}${r.cardId ? ` (${r.cardId})` : ''}: ${r.field ?? ''} ${r.reason ?? ''}`);
    return p.status === 'done' ? 0 : 1;
  } finally {
    await orm.close();
  }
}

installTemporalRuntime(pino({ level: 'warn' }, pino.destination(2)));
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  },
);
