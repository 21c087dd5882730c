/** Request schemas of the card API (zod): one definition serves validation and the OpenAPI document. */
import { z } from 'zod';
import { boundedIsoDate } from '../common/zod-validation.js';
import { ACTIONS, ACTION_DEFINITIONS, PROPOSAL_KINDS, ROUTES, STATES, reasonSchema } from '../../workflows/card-state-machine.js';
import { birthDateSchema, expiryDateSchema, personText } from '../../workflows/text-rules.js';

/** Every stored person-text field: bounded, no control, bidi or invisible-only text (workflows/text-rules.ts). */
const text = personText;
/*
 * What the OpenAPI document says a field takes where zod cannot say it (the input side of a
 * transform or coercion): the same rule written as a JSON Schema pattern, so that clients and the
 * API fuzzer send values that reach the code behind the validation. The zod rule stays the one checked.
 */
const dateDoc = (years: string) => `^(${years})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`;
const KATAKANA_DOC = '^[ァ-ヺー・ 　]{1,200}$';
/** Search filters: a date PostgreSQL can compare (never year 0000). */
const filterDate = boundedIsoDate().meta({ pattern: dateDoc('19[0-9]{2}|2[01][0-9]{2}') });
const nfkc = (max: number) => z.string().transform((s) => s.normalize('NFKC').trim()).pipe(z.string().min(1).max(max));

export const residentSchema = z
  .object({
    name: text(200),
    // Half-width kana are folded to full-width first (NFKC).
    nameKana: nfkc(200)
      .pipe(z.string().regex(/^[\p{Script=Katakana}ー・ \u3000]+$/u, 'must be katakana'))
      .pipe(text(200))
      .meta({ pattern: KATAKANA_DOC }),
    birthDate: birthDateSchema.meta({ pattern: dateDoc('19[0-9]{2}|20[0-9]{2}') }),
    postalCode: z.string().regex(/^[0-9]{3}-?[0-9]{4}$/, 'must be a postal code like 135-0016'),
    address: text(400),
    alphabetName: text(200).optional(),
    commonName: text(200).optional(),
    /** Which name is printed for a foreign resident. */
    nameCategory: z.enum(['legal', 'alphabet', 'common']).default('legal'),
    phone: z.string().regex(/^[0-9+\-() ]{6,20}$/, 'must be a phone number').optional(),
    nationality: text(60).optional(),
    residencePeriodEnd: expiryDateSchema.meta({ pattern: dateDoc('20[0-9]{2}|2100') }).optional(),
  })
  .strict();

export const cardInputSchema = z
  .object({
    cardId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/, 'must be 1–32 letters, digits or hyphens'),
    route: z.enum(ROUTES),
    resident: residentSchema,
    /** The card's own expiry date; for a foreign resident the residence period end applies if earlier. */
    cardExpiresOn: expiryDateSchema.meta({ pattern: dateDoc('20[0-9]{2}|2100') }).optional(),
  })
  .strict();
export type CardInput = z.infer<typeof cardInputSchema>;

export const MAX_BATCH = 1000;
export const batchSchema = z
  .object({
    cards: z
      .array(cardInputSchema)
      .min(1)
      .max(MAX_BATCH, `at most ${MAX_BATCH} cards per request`)
      // A card id twice would register one resident and silently drop the other: the batch is refused.
      .superRefine((cards, ctx) => {
        const first = new Map<string, number>();
        cards.forEach((c, i) => {
          const seen = first.get(c.cardId);
          if (seen === undefined) first.set(c.cardId, i);
          else ctx.addIssue({ code: 'custom', path: [i, 'cardId'], message: `card id ${c.cardId} is also at cards[${seen}]: a batch may hold each card once` });
        });
      }),
  })
  .strict();
/** One card, or `{ cards: [...] }`; told apart by the `cards` key so that errors name the real fields. */
export const registerBodySchema = z.union([cardInputSchema, batchSchema]);

/** `?wait=` seconds a registration may wait for its cards to become readable (0: answer at once, 202 if not yet). */
export const registerQuerySchema = z
  .object({ wait: z.string().regex(/^\d{1,3}$/, 'must be whole seconds, 0..120').transform(Number).pipe(z.number().max(120)).optional() })
  .strict();

export const actionBodySchema = z
  .object({
    reason: reasonSchema.transform((s) => s.trim()).optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** The action endpoint's body as the OpenAPI document shows it: `data` is one of the actions' own schemas. */
export const actionBodyDocSchema = z
  .object({
    reason: reasonSchema.optional(),
    data: z.union(
      [...new Set(Object.values(ACTION_DEFINITIONS).map((d) => d.edgeData ?? d.data))].map((schema) =>
        schema.meta({
          title: `data of ${Object.values(ACTION_DEFINITIONS)
            .filter((d) => (d.edgeData ?? d.data) === schema)
            .map((d) => d.action)
            .join(', ')}`,
        }),
      ) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]],
    ),
  })
  .strict();

/** An Idempotency-Key: short and plain, so that `<user id>:<key>` always fits where it is stored. */
export const idempotencyKeySchema = z.string().regex(/^[A-Za-z0-9._~:-]{1,100}$/, 'must be 1-100 letters, digits or . _ ~ : -');

export const actionNameSchema = z.enum(ACTIONS);

export const SORT_KEYS = ['cardId', 'route', 'state', 'venueId', 'receivedAt', 'noticeMailedAt', 'expiresOn', 'updatedAt', 'nameKana'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

const csv = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).min(1));

export const searchQuerySchema = z
  .object({
    route: csv(z.enum(ROUTES)).optional(),
    state: csv(z.enum(STATES)).optional(),
    venue: csv(z.string().regex(/^[a-z0-9_-]{1,30}$/)).optional(),
    noticeMailedFrom: filterDate.optional(),
    noticeMailedTo: filterDate.optional(),
    expiresFrom: filterDate.optional(),
    expiresTo: filterDate.optional(),
    receivedFrom: filterDate.optional(),
    receivedTo: filterDate.optional(),
    nameKana: nfkc(200).optional(),
    bookingNumber: z.string().regex(/^[0-9A-Za-z-]{1,20}$/).optional(),
    late: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    proposal: z.enum([...PROPOSAL_KINDS, 'any', 'none']).optional(),
    sort: z
      .string()
      .regex(new RegExp(`^-?(${SORT_KEYS.join('|')})$`), `must be one of ${SORT_KEYS.join(', ')}, with - for descending`)
      .default('cardId'),
    limit: z.coerce.number().int().min(1).max(500).default(50).meta({ type: 'integer', minimum: 1, maximum: 500 }),
    cursor: z.string().max(500).optional(),
  })
  .strict();
export type SearchQuery = z.infer<typeof searchQuerySchema>;

export const exportQuerySchema = searchQuerySchema.omit({ limit: true, cursor: true }).extend({
  encoding: z.enum(['utf8', 'sjis']).default('utf8'),
});
