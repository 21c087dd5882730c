/**
 * The mapping file (R-11.1): how one vendor's export is laid out, as data, so that another vendor's
 * layout is a new mapping and not new code. JSON, checked by a zod schema that names every bad field.
 */
import { z } from 'zod';
import { ACTIONS, ROUTES, STATES } from '../../workflows/card-state-machine.js';

/** Date formats a date column may be written in. */
export const DATE_FORMATS = ['era-code', 'era-text', 'western'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

/** A column: its header text, or its position (1 = the first column). */
const columnRef = z.union([z.string().min(1).max(100), z.number().int().min(1).max(500)]);
export type ColumnRef = z.infer<typeof columnRef>;

const code = z.string().min(1).max(40);
const codeTable = <T extends z.ZodType>(value: T) => z.record(code, value).refine((t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 500, 'must hold 1 to 500 codes');

/** The fields of a migrated card, and whether a mapping must name their column. */
export const FIELDS = {
  cardId: true,
  name: true,
  nameKana: true,
  birthDate: true,
  postalCode: true,
  address: true,
  status: true,
  route: false,
  venue: false,
  sex: false,
  phone: false,
  receivedOn: false,
  noticeMailedOn: false,
  renoticedOn: false,
  issuedOn: false,
  expiresOn: false,
  bookingNumber: false,
  bookingDate: false,
  bookingTime: false,
} as const;
export type Field = keyof typeof FIELDS;
/** Fields read as dates: each names its format in `dates`. */
export const DATE_FIELDS = ['birthDate', 'receivedOn', 'noticeMailedOn', 'renoticedOn', 'issuedOn', 'expiresOn', 'bookingDate'] as const satisfies readonly Field[];
export type DateField = (typeof DATE_FIELDS)[number];

const columnsSchema = z
  .object({
    cardId: columnRef,
    name: columnRef,
    nameKana: columnRef,
    birthDate: columnRef,
    postalCode: columnRef,
    /** One column, or two: the address and its 方書 (building and room), joined with a space. */
    address: z.union([columnRef, z.tuple([columnRef, columnRef])]),
    status: columnRef,
    route: columnRef.optional(),
    venue: columnRef.optional(),
    sex: columnRef.optional(),
    phone: columnRef.optional(),
    receivedOn: columnRef.optional(),
    noticeMailedOn: columnRef.optional(),
    renoticedOn: columnRef.optional(),
    issuedOn: columnRef.optional(),
    expiresOn: columnRef.optional(),
    bookingNumber: columnRef.optional(),
    bookingDate: columnRef.optional(),
    /** HH:MM (or HHMM) of the booked slot's start, Asia/Tokyo. */
    bookingTime: columnRef.optional(),
  })
  .strict();

export const mappingSchema = z
  .object({
    /** The previous vendor's name, as the `migrated` event names it. */
    vendor: z.string().min(1).max(100).regex(/^[^\p{Cc}\p{Cf}]+$/u, 'no control characters'),
    encoding: z.enum(['cp932', 'shift_jis', 'utf-8']),
    lineEnding: z.enum(['crlf', 'lf']).default('crlf'),
    delimiter: z.enum([',', '\t']).default(','),
    /** Whether the first line holds the column headers (needed to name columns by their header). */
    header: z.boolean().default(true),
    columns: columnsSchema,
    /** Per date column, its format. */
    dates: z.partialRecord(z.enum(DATE_FIELDS), z.enum(DATE_FORMATS)).default({}),
    codes: z
      .object({
        /** Old status code → our state, with the actions that state implies had happened. */
        status: codeTable(z.object({ state: z.enum(STATES), implies: z.array(z.enum(ACTIONS)).max(20).default([]) }).strict()),
        route: codeTable(z.enum(ROUTES)).optional(),
        venue: codeTable(z.string().regex(/^[a-z0-9_-]{1,30}$/)).optional(),
        sex: codeTable(z.enum(['male', 'female', 'other'])).optional(),
      })
      .strict(),
    /** The route of every card when the export has no route column. */
    defaultRoute: z.enum(ROUTES).default('pickup'),
  })
  .strict()
  .superRefine((m, ctx) => {
    for (const f of DATE_FIELDS) {
      if (m.columns[f] !== undefined && m.dates[f] === undefined) ctx.addIssue({ code: 'custom', path: ['dates', f], message: `the column ${f} needs its date format (${DATE_FORMATS.join(', ')})` });
    }
    for (const [f, table] of [['route', 'route'], ['venue', 'venue'], ['sex', 'sex']] as const) {
      if (m.columns[f] !== undefined && m.codes[table] === undefined) ctx.addIssue({ code: 'custom', path: ['codes', table], message: `the column ${f} needs its code table` });
    }
    const named = [...Object.values(m.columns)].flat().some((c) => typeof c === 'string');
    if (named && !m.header) ctx.addIssue({ code: 'custom', path: ['header'], message: 'columns named by header need header: true' });
  });
export type Mapping = z.infer<typeof mappingSchema>;

/** The largest mapping file read. */
export const MAX_MAPPING_BYTES = 256 * 1024;

export class MappingError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(`the mapping file is not valid: ${problems.map((p) => `${p.path || '(file)'}: ${p.message}`).join('; ')}`);
  }
}

/** Reads and checks a mapping file (JSON); throws MappingError naming every bad field. */
export function parseMapping(bytes: Uint8Array): Mapping {
  if (bytes.length > MAX_MAPPING_BYTES) throw new MappingError([{ path: '', message: `larger than ${MAX_MAPPING_BYTES / 1024} KB` }]);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, ''));
  } catch {
    throw new MappingError([{ path: '', message: 'not UTF-8 JSON' }]);
  }
  const parsed = mappingSchema.safeParse(json);
  if (!parsed.success) throw new MappingError(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  return parsed.data;
}
