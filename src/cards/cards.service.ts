/** The card use cases: register, find, act, export, history and replay. Controllers stay thin. */
import { Inject, Injectable } from '@nestjs/common';
import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { APP_CONFIG, WARD_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import type { WardConfig } from '../config/ward-config.js';
import type { AuthUser } from '../auth/auth.types.js';
import { AuthErrorCode, AuthException } from '../auth/auth.exception.js';
import type { CardWorkflowInput, CardActionResult } from '../../workflows/card-messages.js';
import { cardActionUpdate, cardWorkflowId } from '../../workflows/card-messages.js';
import type { cardWorkflow } from '../../workflows/card.workflow.js';
import {
  ACTION_DEFINITIONS,
  type ActorRole,
  type CardAction,
  type Channel,
  type CardSnapshot,
  allowedActions,
  rolesFor,
} from '../../workflows/card-state-machine.js';
import type { CardInput, SearchQuery } from './card.dto.js';
import { CardsErrorCode, CardsException } from './cards.exception.js';
import { type CardEventView, type CardView, CardsRepository } from './cards.repository.js';
import { ReplayService } from './replay.service.js';

export interface RegisterResult {
  cardId: string;
  status: 'created' | 'exists';
}

export interface CardDetail {
  card: CardView;
  timeline: CardEventView[];
  proposals: CardSnapshot['proposals'];
  /** The booked slot while the card is reserved. */
  booking?: CardSnapshot['booking'];
  allowedActions: { action: CardAction; label: string; reasonRequired: boolean; irreversible: boolean }[];
}

/** Whether the user sees only their own venue's cards. */
export const ownVenueOnly = (user: AuthUser) => user.role === 'venue' && !user.allVenues;

/** Staff roles that act on cards; the auditor and the administrator never do. */
function actorRole(user: AuthUser): ActorRole | undefined {
  return user.role === 'auditor' || user.role === 'admin' ? undefined : user.role;
}

/** The earlier of two optional ISO dates. */
const earlier = (a?: string, b?: string) => (a && b ? (a < b ? a : b) : (a ?? b));

/** How many workflow starts a batch keeps in flight at once. */
const START_CONCURRENCY = 32;

@Injectable()
export class CardsService {
  constructor(
    private readonly client: Client,
    private readonly cards: CardsRepository,
    private readonly replayer: ReplayService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
  ) {}

  /** Registers cards: residents to PostgreSQL, then one workflow per card. Idempotent on cardId. */
  async register(inputs: CardInput[], user: AuthUser, channel: Channel): Promise<RegisterResult[]> {
    const role = actorRole(user);
    if (!role || !['ward', 'office'].includes(role)) throw new AuthException(AuthErrorCode.FORBIDDEN, `role ${user.role} may not register cards`);
    await this.cards.insertResidents(inputs);
    const results: RegisterResult[] = new Array(inputs.length);
    let next = 0;
    const startOne = async (input: CardInput): Promise<RegisterResult> => {
      const args: CardWorkflowInput = {
        registration: {
          cardId: input.cardId,
          route: input.route,
          venueId: this.ward.venueForPostalCode(input.resident.postalCode),
          hasPhone: Boolean(input.resident.phone),
          expiresOn: earlier(input.cardExpiresOn, input.resident.residencePeriodEnd),
        },
        policy: this.ward.policy,
        actor: { userId: user.username, role, channel },
      };
      try {
        await this.client.workflow.start<typeof cardWorkflow>('cardWorkflow', {
          workflowId: cardWorkflowId(input.cardId),
          taskQueue: this.config.TEMPORAL_TASK_QUEUE,
          args: [args],
          // A card id is a business key: registering it again never makes a second card.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
        return { cardId: input.cardId, status: 'created' };
      } catch (e) {
        if (e instanceof WorkflowExecutionAlreadyStartedError) return { cardId: input.cardId, status: 'exists' };
        throw e;
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(START_CONCURRENCY, inputs.length) }, async () => {
        while (next < inputs.length) {
          const i = next++;
          results[i] = await startOne(inputs[i]);
        }
      }),
    );
    return results;
  }

  /** Venue staff see only their own venue's cards, unless the ward widened them to all; everyone else sees all. */
  private scope(q: SearchQuery, user: AuthUser): SearchQuery {
    return ownVenueOnly(user) ? { ...q, venue: [user.venueId ?? '-'] } : q;
  }

  private visible(view: CardView, user: AuthUser): boolean {
    return !ownVenueOnly(user) || view.venueId === (user.venueId ?? '-');
  }

  search(q: SearchQuery, user: AuthUser) {
    return this.cards.search(this.scope(q, user));
  }

  async get(cardId: string, user: AuthUser): Promise<CardDetail> {
    const found = await this.cards.findView(cardId);
    // Another venue's card is answered as unknown, so that its existence does not leak.
    if (!found || !this.visible(found.view, user)) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
    const role = actorRole(user);
    return {
      card: found.view,
      timeline: await this.cards.events(cardId),
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

  /** Sends one action to the card's workflow as an Update; the idempotency key is its update id. */
  async act(
    cardId: string,
    action: CardAction,
    body: { reason?: string; data?: Record<string, unknown> },
    user: AuthUser,
    idempotencyKey: string,
    channel: Channel,
  ): Promise<CardActionResult> {
    const role = actorRole(user);
    if (!role || !rolesFor(action).includes(role)) {
      throw new AuthException(AuthErrorCode.FORBIDDEN, `role ${user.role} may not ${action}`);
    }
    if (ownVenueOnly(user)) {
      const found = await this.cards.findView(cardId);
      if (!found || !this.visible(found.view, user)) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
    }
    const handle = this.client.workflow.getHandle(cardWorkflowId(cardId));
    try {
      return await handle.executeUpdate(cardActionUpdate, {
        args: [{ action, actor: { userId: user.username, role, channel }, reason: body.reason || undefined, data: body.data }],
        // Scoped by user, so that two users' keys can never collide.
        updateId: `${user.id}:${idempotencyKey}`,
      });
    } catch (e) {
      throw await this.mapUpdateError(e, cardId);
    }
  }

  private async mapUpdateError(e: unknown, cardId: string): Promise<unknown> {
    if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure) {
      const code = e.cause.type as keyof typeof CardsErrorCode;
      const details = e.cause.details?.[0];
      if (code in CardsErrorCode) return new CardsException(CardsErrorCode[code], e.cause.message, details);
    }
    if (e instanceof WorkflowNotFoundError || (e as { code?: number })?.code === 5) {
      const found = await this.cards.findView(cardId);
      if (!found) return new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
      return new CardsException(CardsErrorCode.CARD_CLOSED, `card ${cardId} is ${found.view.state}: its story is over`, { state: found.view.state });
    }
    return e;
  }

  /** The card's Temporal event history beside its projected events. */
  async history(cardId: string): Promise<{ workflowId: string; temporal: unknown; events: CardEventView[] }> {
    const events = await this.cards.events(cardId);
    if (events.length === 0 && !(await this.cards.exists(cardId))) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
    const history = await this.fetchHistory(cardId);
    return { workflowId: cardWorkflowId(cardId), temporal: JSON.parse(historyToJSON(history)), events };
  }

  /** Replays the card's history against the current workflow code. */
  async replay(cardId: string): Promise<{ workflowId: string; replayed: boolean; historyEvents: number; error?: string }> {
    if (!(await this.cards.exists(cardId))) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
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
