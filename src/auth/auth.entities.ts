import { defineEntity, p } from '@mikro-orm/core';

export const AppUser = defineEntity({
  name: 'AppUser',
  tableName: 'app_user',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    username: p.string().length(100).unique('app_user_username_key'),
    displayName: p.string().length(200),
    role: p.string().length(20),
    /** For venue staff: the venue whose cards they serve. */
    venueId: p.string().length(30).nullable(),
    /** Venue staff whom the ward lets see every venue's cards (otherwise their own venue's only). */
    allVenues: p.boolean().default(false),
    disabledAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    /** argon2id (PHC string); null for users who only use API tokens. */
    passwordHash: p.text().nullable(),
    /** The TOTP secret, encrypted with the server's data key (AES-256-GCM). */
    totpSecret: p.text().nullable(),
    totpEnabledAt: p.datetime().nullable(),
    /** The last TOTP time step (Unix time / 30 s) used to sign in: a code is accepted once. */
    totpLastStep: p.bigint('number').nullable(),
    /** Set after too many failed sign-ins; an administrator unlocks it. */
    lockedAt: p.datetime().nullable(),
  },
});

/** Web sessions, kept on the server: the cookie holds a random token, the table its SHA-256. */
export const WebSession = defineEntity({
  name: 'WebSession',
  tableName: 'web_session',
  properties: {
    id: p.string().length(64).primary(),
    userId: p.uuid().index('web_session_user_idx'),
    csrfToken: p.string().length(64),
    /** False until the second factor is given, for roles that need one. */
    mfaVerified: p.boolean().default(false),
    createdAt: p.datetime().defaultRaw('now()'),
    lastSeenAt: p.datetime().defaultRaw('now()'),
    /** The absolute end (12 hours after sign-in). */
    expiresAt: p.datetime(),
    endedAt: p.datetime().nullable(),
    ip: p.string().length(64).nullable(),
    userAgent: p.string().length(300).nullable(),
  },
});

export const LoginAttempt = defineEntity({
  name: 'LoginAttempt',
  tableName: 'login_attempt',
  indexes: [{ name: 'login_attempt_user_at_idx', properties: ['userId', 'at'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    userId: p.uuid().nullable(),
    username: p.string().length(100),
    at: p.datetime().defaultRaw('now()'),
    success: p.boolean(),
    ip: p.string().length(64).nullable(),
  },
});

/** One-time recovery codes for the second factor, stored hashed. */
export const RecoveryCode = defineEntity({
  name: 'RecoveryCode',
  tableName: 'recovery_code',
  properties: {
    id: p.bigint().primary().autoincrement(),
    userId: p.uuid().index('recovery_code_user_idx'),
    codeHash: p.string().length(64),
    usedAt: p.datetime().nullable(),
  },
});

/** API bearer tokens: only a SHA-256 of the token is kept, so a leaked table grants nothing. */
export const ApiToken = defineEntity({
  name: 'ApiToken',
  tableName: 'api_token',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    userId: p.uuid().index('api_token_user_idx'),
    name: p.string().length(100),
    tokenHash: p.string().length(64).unique('api_token_hash_key'),
    createdAt: p.datetime().defaultRaw('now()'),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
