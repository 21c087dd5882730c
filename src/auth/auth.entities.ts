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
    disabledAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
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
