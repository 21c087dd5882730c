/** The forms of user administration (zod); messages are shown beside the fields, in Japanese. */
import { z } from 'zod';
import { STAFF_ROLES } from '../../workflows/card-state-machine.js';

export const MIN_PASSWORD_LENGTH = 12;

// No control characters: names end up in pages, logs and the access log.
const plainText = (label: string, max: number) =>
  z
    .string({ error: `${label}を入力してください` })
    .trim()
    .min(1, `${label}を入力してください`)
    .max(max, `${label}は${max}文字以内にしてください`)
    .regex(/^[^\p{Cc}]*$/u, `${label}に制御文字は使えません`);

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

const password = z
  .string({ error: 'パスワードを入力してください' })
  .min(MIN_PASSWORD_LENGTH, `パスワードは${MIN_PASSWORD_LENGTH}文字以上にしてください`)
  .max(200, 'パスワードは200文字以内にしてください');

/** Role, venue and display name; the venue only for venue staff, and then one of the ward's. */
const profileShape = {
  displayName: plainText('表示名', 200),
  role: z.enum(STAFF_ROLES, { error: '役割を選んでください' }),
  venueId: optionalText,
  /** A checkbox: present ("yes") when ticked. */
  allVenues: z.literal('yes').optional(),
};

function checkVenue(v: { role: string; venueId?: string }, ctx: z.RefinementCtx, venueIds: readonly string[]) {
  if (v.role === 'venue' && !v.venueId) ctx.addIssue({ code: 'custom', path: ['venueId'], message: '役割が「交付会場」のときは会場を選んでください' });
  if (v.venueId && !venueIds.includes(v.venueId)) ctx.addIssue({ code: 'custom', path: ['venueId'], message: '会場は一覧から選んでください' });
}

export function profileSchema(venueIds: readonly string[]) {
  return z
    .object(profileShape)
    .superRefine((v, ctx) => checkVenue(v, ctx, venueIds))
    .transform((v) => ({ displayName: v.displayName, role: v.role, venueId: v.role === 'venue' ? v.venueId! : null, allVenues: v.role === 'venue' && v.allVenues === 'yes' }));
}
export type ProfileInput = z.infer<ReturnType<typeof profileSchema>>;

export function newUserSchema(venueIds: readonly string[]) {
  return z
    .object({
      username: z
        .string({ error: 'ユーザー名を入力してください' })
        .trim()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,99}$/, 'ユーザー名は半角英数字で始まり、半角英数字と . _ - からなる3〜100文字にしてください'),
      password,
      ...profileShape,
    })
    .superRefine((v, ctx) => {
      checkVenue(v, ctx, venueIds);
      if (v.password === v.username) ctx.addIssue({ code: 'custom', path: ['password'], message: 'ユーザー名と同じパスワードは使えません' });
    })
    .transform((v) => ({ username: v.username, password: v.password, displayName: v.displayName, role: v.role, venueId: v.role === 'venue' ? v.venueId! : null }));
}
export type NewUserInput = z.infer<ReturnType<typeof newUserSchema>>;

export const passwordSchema = z.object({ password });

export const tokenSchema = z.object({ name: plainText('トークンの名前', 100) });
