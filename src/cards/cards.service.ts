/** The card use cases: register, find, act, export, history and replay. Controllers stay thin. */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { APP_CONFIG, WARD_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import type { WardConfig } from '../config/ward-config.js';
import type { AuthUser } from '../auth/auth.types.js';
import { type AccessRecord, accessLogInsert } from '../audit/access-log.service.js';
import { AuthErrorCode, AuthException } from '../auth/auth.exception.js';
import { CommonException, type FieldError } from '../common/errors.js';
import type { CardWorkflowInput, CardActionResult } from '../../workflows/card-messages.js';
import { PATCHES_AT_START, cardActionUpdate, cardWorkflowId } from '../../workflows/card-messages.js';
import { withDueTimers } from '../../workflows/card-timers.js';
import {
  ACTION_DEFINITIONS,
  type Actor,
  type ActorRole,
  type CardAction,
  type Channel,
  type CardSnapshot,
  type Transition,
  allowedActions,
  register as firstTransition,
  rolesFor,
} from '../../workflows/card-state-machine.js';
import type { CardInput, SearchQuery } from './card.dto.js';
import { CardsErrorCode, CardsException } from './cards.exception.js';
import { type CardEventView, type CardView, CardsRepository } from './cards.repository.js';
import { ReplayService } from './replay.service.js';
import { VenueScope, assertVenueFilter } from './venue-scope.js';
import { PreparedSql } from '../database/prepared.js';

export interface RegisterResult {
  cardId: string;
  status: 'created' | 'exists';
  /** Registered: the read model holds the card and its workflow is started (GET answers, actions reach it). */
  readable: boolean;
}

/** The first pause between two looks at the read model while a registration waits; it doubles up to the cap. */
const READ_POLL_FIRST_MS = 25;
const READ_POLL_CAP_MS = 400;

export interface CardDetail {
  card: CardView;
  timeline: CardEventView[];
  proposals: CardSnapshot['proposals'];
  /** The booked slot while the card is reserved. */
  booking?: CardSnapshot['booking'];
  allowedActions: { action: CardAction; label: string; reasonRequired: boolean; irreversible: boolean }[];
}

/** Staff roles that act on cards; the auditor and the administrator never do. */
function actorRole(user: AuthUser): ActorRole | undefined {
  return user.role === 'auditor' || user.role === 'admin' ? undefined : user.role;
}

/** The earlier of two optional ISO dates. */
const earlier = (a?: string, b?: string) => (a && b ? (a < b ? a : b) : (a ?? b));

/**
 * The code an action's failure is known by, for its access-log row: the API's error code (for the
 * workflow's CHANGE_NOT_RECORDED, the code of the activity failure its message names first, as the
 * claim's SLOT_FULL that the booking answers), or the type at the root of the failure's causes;
 * undefined if none.
 */
function refusalCode(e: unknown): string | undefined {
  if (e instanceof CardsException) return /nothing changed: ([A-Z][A-Z0-9_]{2,39}):/.exec(e.message)?.[1] ?? e.code;
  let code: string | undefined;
  for (let x = e as { type?: unknown; cause?: unknown } | undefined, i = 0; x && i < 6; x = x.cause as typeof x, i++) {
    if (typeof x.type === 'string' && /^[A-Z][A-Z0-9_]{0,39}$/.test(x.type)) code = x.type;
  }
  return code;
}

/** Where an action from the API or a staff page came from: its access-log row (CardsService.act). */
export interface ActionAccess {
  channel: AccessRecord['channel'];
  ip?: string;
  requestId?: string;
  /** The row's detail; the action's name if not given. */
  detail?: string;
}

/** JSON with object keys sorted, so that the same body always has the same fingerprint. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface StuckCard {
  cardId: string;
  /** The first event that could not be recorded. */
  seq: number;
  error: string;
  failures: number;
  since: string;
  lastFailedAt: string;
  /** The card's last recorded state, if its registration was recorded at all. */
  state?: string;
}

/**
 * The server turned an Update away before the card took it, so it is safe to send again with the
 * same id: too many in flight for the card (gRPC RESOURCE_EXHAUSTED), or delivered in a workflow
 * task that completed without it (`UnprocessedUpdate`, seen with dozens of Updates for one card at once).
 */
function tooManyInFlight(e: unknown): boolean {
  for (let x = e as { code?: unknown; type?: unknown; cause?: unknown } | undefined, i = 0; x && i < 4; x = x.cause as typeof x, i++) {
    if (x.code === 8 || x.type === 'UnprocessedUpdate') return true;
  }
  return false;
}

@Injectable()
export class CardsService {
  constructor(
    private readonly client: Client,
    private readonly cards: CardsRepository,
    private readonly replayer: ReplayService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
    private readonly em: EntityManager,
  ) {}

  /** The venue allocated to a postal code, or undefined outside the ward's allocation. */
  venueFor(postalCode: string): string | undefined {
    return this.ward.venueForPostalCode(postalCode);
  }

  /** Refuses a venue id that is not one of the ward's configured venues (400 naming `field`). */
  checkVenue(venueId: unknown, field: string): void {
    if (venueId === undefined) return;
    if (!this.ward.venues.some((v) => v.id === venueId)) {
      throw CommonException.validation([{ field, message: `not a configured venue: one of ${this.ward.venues.map((v) => v.id).join(', ')}` }]);
    }
  }

  /**
   * Cards whose postal code is outside the ward's allocation (config towns.csv): such a card would
   * have no venue, and no venue could ever see it. `field` names the card's place in the request.
   */
  outsideWard(inputs: CardInput[], field: (i: number) => string): FieldError[] {
    return inputs.flatMap((c, i) =>
      this.ward.venueForPostalCode(c.resident.postalCode) === undefined
        ? [{ field: field(i), message: `postal code ${c.resident.postalCode} is not in the ward's allocation: no venue serves it` }]
        : [],
    );
  }

  /**
   * Registers cards (R-2.3), idempotent on cardId. One statement writes the batch: the residents,
   * each new card's first projection (its row and `registered` event: the transition the workflow
   * makes, at one instant for the batch) and its start in the outbox (`card_start_pending`). A
   * worker of the task queue starts the workflows (eagerly, `CardStarter`), each with that instant
   * (`projectedAt`), so that its first task records only its timer. A card already registered is
   * left as it is (`exists`). Then waits, up to `waitMs` (default REGISTRATION_WAIT_SECONDS), until
   * every card is readable and started, so that the caller can read and act on what it registered;
   * `readable` says which are.
   */
  async register(inputs: CardInput[], user: AuthUser, channel: Channel, opts: { waitMs?: number } = {}): Promise<RegisterResult[]> {
    const role = actorRole(user);
    if (!role || !['ward', 'office'].includes(role)) throw new AuthException(AuthErrorCode.FORBIDDEN, `role ${user.role} may not register cards`);
    const outside = this.outsideWard(inputs, (i) => (inputs.length > 1 ? `cards[${i}].resident.postalCode` : 'resident.postalCode'));
    if (outside.length) throw CommonException.validation(outside);
    const batch = this.registrationBatch(inputs, { userId: user.username, role, channel }, Date.now());
    const inserted = await this.cards.insertRegistrations(this.config.TEMPORAL_TASK_QUEUE, batch);
    const readable = await this.waitReadable(
      inputs.map((i) => i.cardId),
      opts.waitMs,
    );
    return inputs.map((i) => ({ cardId: i.cardId, status: inserted.has(i.cardId) ? 'created' : 'exists', readable: readable.has(i.cardId) }));
  }

  /** Each card's workflow input and first projection (its registration and the timers due then), by `actor` at `at` (one instant for a batch). */
  registrationBatch(inputs: CardInput[], actor: Actor, at: number): { input: CardInput; first: Transition; args: CardWorkflowInput }[] {
    return inputs.map((input) => {
      const args: CardWorkflowInput = {
        registration: {
          cardId: input.cardId,
          route: input.route,
          venueId: this.ward.venueForPostalCode(input.resident.postalCode),
          hasPhone: Boolean(input.resident.phone),
          expiresOn: earlier(input.cardExpiresOn, input.resident.residencePeriodEnd),
        },
        policy: this.ward.policy,
        actor,
        patchesAtStart: [...PATCHES_AT_START],
        projectedAt: at,
      };
      return { input, first: withDueTimers(firstTransition(args.registration, actor, at), args.policy, at), args };
    });
  }

  /**
   * Waits until every one of these cards is registered (its row is there and its workflow started),
   * or `waitMs` has passed; answers those that are. One query per look for the whole
   * batch, asking only for the cards still missing; the pause between looks grows from 25 ms to
   * 400 ms. Always looks at least once, so `waitMs` 0 answers what is readable now.
   */
  async waitReadable(cardIds: string[], waitMs = this.config.REGISTRATION_WAIT_SECONDS * 1000): Promise<Set<string>> {
    const found = new Set<string>();
    let missing = [...new Set(cardIds)];
    const until = Date.now() + waitMs;
    for (let pause = READ_POLL_FIRST_MS; ; pause = Math.min(pause * 2, READ_POLL_CAP_MS)) {
      const now = await this.cards.readable(missing);
      for (const id of now) found.add(id);
      missing = missing.filter((id) => !now.has(id));
      const left = until - Date.now();
      if (missing.length === 0 || left <= 0) return found;
      await sleep(Math.min(pause, left));
    }
  }

  /** Venue staff see only their own venue's cards (the repository applies the scope); a filter for another venue is refused. */
  search(q: SearchQuery, user: AuthUser) {
    const scope = VenueScope.of(user);
    assertVenueFilter(scope, q.venue, 'en');
    return this.cards.search(scope, q);
  }

  async get(cardId: string, user: AuthUser): Promise<CardDetail> {
    const scope = VenueScope.of(user);
    // Another venue's card is answered as unknown, so that its existence does not leak.
    const found = await this.cards.findView(scope, cardId);
    if (!found) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
    const role = actorRole(user);
    return {
      card: found.view,
      timeline: await this.cards.events(scope, cardId),
      proposals: found.snapshot.proposals,
      booking: found.snapshot.booking,
      allowedActions: role
        ? allowedActions(found.snapshot, role).map((a) => {
            const d = ACTION_DEFINITIONS[a];
            return { action: a, label: d.label, reasonRequired: d.reasonRequired, irreversible: d.irreversible };
          })
        : [],
    };
  }

  /**
   * Sends one action to the card's workflow as an Update; the idempotency key is its update id.
   * With `access` (the API and the staff pages), the action's access-log row is written here, in the
   * statement that stores the key's fingerprint, before the Update is sent; an action that is then
   * refused or not answered in time gets a second row that says so (the log is append-only).
   */
  async act(
    cardId: string,
    action: CardAction,
    body: { reason?: string; data?: Record<string, unknown> },
    user: AuthUser,
    idempotencyKey: string,
    channel: Channel,
    access?: ActionAccess,
  ): Promise<CardActionResult> {
    const role = actorRole(user);
    if (!role || !rolesFor(action).includes(role)) {
      throw new AuthException(AuthErrorCode.FORBIDDEN, `role ${user.role} may not ${action}`);
    }
    const scope = VenueScope.of(user);
    if (scope.restricted && !(await this.cards.findView(scope, cardId))) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
    // Every channel (API, pages, bulk jobs): a venue must be one the ward configured.
    this.checkVenue(body.data?.venueId, 'data.venueId');
    const logged = access && { user, kind: 'change' as const, cardIds: [cardId], detail: access.detail ?? action, channel: access.channel, ip: access.ip, requestId: access.requestId };
    return this.send(cardId, action, body, { userId: user.username, role, channel }, user.id, idempotencyKey, scope, logged);
  }

  /**
   * A resident's action (booking pages): the resident signed in with the card's booking number,
   * which scopes the idempotency key as a user id does for staff. Recorded with channel resident-web.
   */
  async actAsResident(cardId: string, action: CardAction, body: { reason?: string; data?: Record<string, unknown> }, bookingNumber: string, idempotencyKey: string): Promise<CardActionResult> {
    if (!rolesFor(action).includes('resident')) throw new AuthException(AuthErrorCode.FORBIDDEN, `a resident may not ${action}`);
    return this.send(cardId, action, body, { userId: `resident:${bookingNumber}`, role: 'resident', channel: 'resident-web' }, `resident:${bookingNumber}`, idempotencyKey, VenueScope.of({ id: '', username: '', role: 'ward' }));
  }

  private async send(
    cardId: string,
    action: CardAction,
    body: { reason?: string; data?: Record<string, unknown> },
    actor: { userId: string; role: ActorRole; channel: Channel },
    scopeId: string,
    idempotencyKey: string,
    scope: VenueScope,
    logged?: AccessRecord,
  ): Promise<CardActionResult> {
    const fresh = await this.checkFingerprint({ id: scopeId }, idempotencyKey, cardId, action, body, logged);
    const handle = this.client.workflow.getHandle(cardWorkflowId(cardId));
    const deadline = Date.now() + this.config.ACTION_TIMEOUT_MS;
    try {
      // Temporal takes at most a few Updates in flight per card (RESOURCE_EXHAUSTED beyond, which
      // its client retries a few times) and may turn one away unprocessed: many requests for one
      // card at once wait their turn here, until the deadline.
      for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
        try {
          // Bounded: a card whose worker is down answers 503 rather than holding the request for ever;
          // the Update may still be applied later, and a retry with the same key gets its answer.
          return await this.client.withDeadline(deadline, () =>
            handle.executeUpdate(cardActionUpdate, {
              args: [{ action, actor, reason: body.reason || undefined, data: body.data }],
              // Scoped by user, so that two users' keys can never collide.
              updateId: `${scopeId}:${idempotencyKey}`,
            }),
          );
        } catch (e) {
          if (!tooManyInFlight(e) || Date.now() + pause >= deadline) throw e;
          await sleep(pause * (0.5 + Math.random()));
        }
      }
    } catch (e) {
      const mapped = await this.mapUpdateError(e, cardId, scope);
      const unanswered = mapped instanceof CardsException && mapped.code === CardsErrorCode.WORKFLOW_UNAVAILABLE;
      // Refused, so nothing was applied: the key is free again (a form sent again after a fix). Not
      // after a timeout: that Update may still be applied, so its key stays bound to this request.
      const release = fresh && mapped instanceof CardsException && !unanswered;
      const code = refusalCode(mapped);
      const outcome = logged && {
        ...logged,
        detail: `${logged.detail}: ${unanswered ? `no answer in time (${code}); it may still be applied` : code ? `refused (${code})` : 'failed (error); it may still be applied'}`,
      };
      if (release || outcome) {
        const row = outcome && accessLogInsert(outcome);
        // One statement: the key released and the outcome appended to the access log, either or both.
        await new PreparedSql(this.em).execute(
          `with released as (delete from idempotency_fingerprint where ?::boolean and user_id = ? and key = ?) ${row ? row.sql : 'select 1'}`,
          [release, scopeId, idempotencyKey, ...(row?.params ?? [])],
        );
      }
      throw mapped;
    }
  }

  /**
   * Temporal de-duplicates updates by id alone, so a key reused for another request would get the
   * first request's answer. The first use of a key stores a fingerprint of what it asked for
   * (card, action, body); a later use with another fingerprint is refused with 422. `logged`, the
   * action's access-log row, is appended in the same statement (one round trip and one durable
   * commit for both, before anything is sent); a refused reuse appends a second row saying so.
   */
  private async checkFingerprint(
    user: { id: string },
    key: string,
    cardId: string,
    action: CardAction,
    body: { reason?: string; data?: Record<string, unknown> },
    logged?: AccessRecord,
  ): Promise<boolean> {
    const hash = createHash('sha256')
      .update(canonical({ cardId, action, reason: body.reason || undefined, data: body.data }))
      .digest('hex');
    const em = this.em.fork();
    const fingerprint = `insert into idempotency_fingerprint (user_id, key, card_id, action, body_hash) values (?, ?, ?, ?, ?) on conflict (user_id, key) do nothing returning key`;
    const row = logged && accessLogInsert(logged);
    // Every action runs it: a prepared statement, planned once per connection.
    const inserted = await new PreparedSql(em).execute<{ key: string }[]>(
      row ? `with logged as (${row.sql}) ${fingerprint}` : fingerprint,
      [...(row?.params ?? []), user.id, key, cardId, action, hash],
    );
    if (inserted.length > 0) return true;
    const [first] = await em.execute<{ card_id: string; action: string; body_hash: string }[]>(
      `select card_id, action, body_hash from idempotency_fingerprint where user_id = ? and key = ?`,
      [user.id, key],
    );
    if (first && (first.card_id !== cardId || first.action !== action || first.body_hash !== hash)) {
      if (logged) {
        const refused = accessLogInsert({ ...logged, detail: `${logged.detail}: refused (${CardsErrorCode.IDEMPOTENCY_KEY_REUSED})` });
        await em.execute(refused.sql, refused.params);
      }
      throw new CardsException(
        CardsErrorCode.IDEMPOTENCY_KEY_REUSED,
        first.card_id === cardId && first.action === action
          ? 'this Idempotency-Key was used for the same action with another body: use a new key for a new request'
          : 'this Idempotency-Key was used for another request (another card or action): use a new key for a new request',
      );
    }
    return false;
  }

  /** Cards whose timer projection keeps failing, oldest first. */
  async stuckCards(): Promise<StuckCard[]> {
    const rows = await this.em.fork().execute<{ card_id: string; seq: number; error: string; failures: number; since: Date; last_failed_at: Date; state: string | null }[]>(
      `select s.card_id, s.seq, s.error, s.failures, s.since, s.last_failed_at, c.state
         from card_stuck s left join card c on c.card_id = s.card_id
        order by s.since, s.card_id limit 500`,
    );
    return rows.map((r) => ({
      cardId: r.card_id,
      seq: r.seq,
      error: r.error,
      failures: r.failures,
      since: new Date(r.since).toISOString(),
      lastFailedAt: new Date(r.last_failed_at).toISOString(),
      ...(r.state ? { state: r.state } : {}),
    }));
  }

  private async mapUpdateError(e: unknown, cardId: string, scope: VenueScope): Promise<unknown> {
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError || (e as { code?: number })?.code === 4 || tooManyInFlight(e)) {
      return new CardsException(
        CardsErrorCode.WORKFLOW_UNAVAILABLE,
        `card ${cardId} did not answer within ${Math.round(this.config.ACTION_TIMEOUT_MS / 1000)} s (its worker may be down); send the same request again with the same Idempotency-Key: it applies at most once`,
      );
    }
    if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure) {
      const code = e.cause.type as keyof typeof CardsErrorCode;
      const details = e.cause.details?.[0];
      if (code in CardsErrorCode) return new CardsException(CardsErrorCode[code], e.cause.message, details);
    }
    if (e instanceof WorkflowNotFoundError || (e as { code?: number })?.code === 5) {
      const found = await this.cards.findView(scope, cardId);
      if (!found) return new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
      return new CardsException(CardsErrorCode.CARD_CLOSED, `card ${cardId} is ${found.view.state}: its story is over`, { state: found.view.state });
    }
    return e;
  }

  /** The card's Temporal event history beside its projected events. */
  async history(cardId: string, user: AuthUser): Promise<{ workflowId: string; temporal: unknown; events: CardEventView[] }> {
    const scope = VenueScope.of(user);
    const events = await this.cards.events(scope, cardId);
    if (events.length === 0 && !(await this.cards.exists(scope, cardId))) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
    const history = await this.fetchHistory(cardId);
    return { workflowId: cardWorkflowId(cardId), temporal: JSON.parse(historyToJSON(history)), events };
  }

  /** Replays the card's history against the current workflow code. */
  async replay(cardId: string, user: AuthUser): Promise<{ workflowId: string; replayed: boolean; historyEvents: number; error?: string }> {
    if (!(await this.cards.exists(VenueScope.of(user), cardId))) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
    const history = await this.fetchHistory(cardId);
    const result = await this.replayer.replay(cardWorkflowId(cardId), history);
    return { workflowId: cardWorkflowId(cardId), historyEvents: history.events?.length ?? 0, ...result };
  }

  private async fetchHistory(cardId: string) {
    try {
      return await this.client.workflow.getHandle(cardWorkflowId(cardId)).fetchHistory();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `card ${cardId} has no workflow history (yet)`);
      throw e;
    }
  }
}
