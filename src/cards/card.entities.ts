/** The card read model: one row per card (projected from its workflow), its events, its resident and bookings. */
import { defineEntity, p } from '@mikro-orm/core';

/** The resident's personal data, written once at registration; never part of a workflow's history. */
export const CardResident = defineEntity({
  name: 'CardResident',
  tableName: 'card_resident',
  properties: {
    cardId: p.string().length(32).primary(),
    name: p.string().length(200),
    nameKana: p.string().length(200).index('card_resident_name_kana_idx'),
    alphabetName: p.string().length(200).nullable(),
    commonName: p.string().length(200).nullable(),
    /** Which name is printed for a foreign resident: legal, alphabet or common name. */
    nameCategory: p.string().length(20).default('legal'),
    birthDate: p.string().columnType('date'),
    postalCode: p.string().length(8),
    address: p.string().length(400),
    phone: p.string().length(30).nullable(),
    nationality: p.string().length(60).nullable(),
    residencePeriodEnd: p.string().columnType('date').nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});

export const Card = defineEntity({
  name: 'Card',
  tableName: 'card',
  properties: {
    cardId: p.string().length(32).primary(),
    route: p.string().length(20).index('card_route_idx'),
    state: p.string().length(30).index('card_state_idx'),
    /** Sequence number of the last projected event: the row only ever moves forward. */
    seq: p.integer(),
    venueId: p.string().length(30).nullable().index('card_venue_idx'),
    late: p.boolean().default(false),
    proposalKinds: p.array().columnType('text[]').defaultRaw(`'{}'`),
    receivedAt: p.datetime().index('card_received_at_idx'),
    noticeMailedAt: p.datetime().nullable().index('card_notice_mailed_at_idx'),
    renoticedAt: p.datetime().nullable(),
    issuedAt: p.datetime().nullable(),
    closedAt: p.datetime().nullable(),
    expiresOn: p.string().columnType('date').nullable().index('card_expires_on_idx'),
    bookingNumber: p.string().length(20).nullable().index('card_booking_number_idx'),
    /** The workflow's snapshot of the card, for the actions the UI may offer. */
    snapshot: p.json(),
    updatedAt: p.datetime().index('card_updated_at_idx'),
  },
});

/** Append-only: one row per transition, keyed by (card, sequence) so that retries never duplicate. */
export const CardEventRecord = defineEntity({
  name: 'CardEventRecord',
  tableName: 'card_event',
  properties: {
    cardId: p.string().length(32).primary(),
    seq: p.integer().primary(),
    type: p.string().length(40),
    fromState: p.string().length(30),
    toState: p.string().length(30),
    at: p.datetime(),
    actorUser: p.string().length(100),
    actorRole: p.string().length(20),
    channel: p.string().length(20),
    reason: p.text().nullable(),
    data: p.json().nullable(),
    recordedAt: p.datetime().defaultRaw('now()'),
  },
});

export const BookingRecord = defineEntity({
  name: 'BookingRecord',
  tableName: 'booking',
  properties: {
    /** Its own id: the booking number is the card's, the same through every change. */
    id: p.bigint().primary().autoincrement(),
    /** The card's booking number when it was booked. */
    bookingNumber: p.string().length(20).nullable(),
    /** One active (`booked`) booking per card: partial unique index `booking_one_active_per_card`. */
    cardId: p.string().length(32).index('booking_card_idx'),
    /** The reserve update's id: a retried claim finds its booking again. */
    requestId: p.string().length(200).unique('booking_request_id_key'),
    venueId: p.string().length(30),
    startsAt: p.datetime(),
    endsAt: p.datetime(),
    /** booked, changed (replaced by a change), cancelled, no_show, documents_missing, used, void */
    status: p.string().length(20).default('booked'),
    createdAt: p.datetime().defaultRaw('now()'),
    releasedAt: p.datetime().nullable(),
  },
});
