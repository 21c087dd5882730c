/**
 * The task lists: the office's (`transfer`, `mismatch`, …, the tasks with no venue), which the
 * ward and the call center see too, and each venue's (`prepare_card`, …). Each open task has a
 * "done" button (a CSRF-checked form); who completed it and when is kept on the task.
 */
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { VenueScope } from '../cards/venue-scope.js';
import { bigintIdSchema, parseOrThrow } from '../common/zod-validation.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { TasksRepository, type TaskView } from '../tasks/tasks.repository.js';
import type { AuthUser } from '../auth/auth.types.js';
import { VenuesErrorCode, VenuesException } from './venues.exception.js';
import { VenueDeskRepository } from './venue-desk.repository.js';

type WebRequest = Request & { web: WebSessionContext };

export const TASK_KIND_LABELS: Record<string, string> = {
  transfer: 'カードの移送（予約した会場へ）',
  prepare_card: 'カードの準備（直前の予約）',
  mismatch: '不一致の確認（予約・カード）',
};

/** Roles that use the office's list. */
const OFFICE_LIST_ROLES = ['office', 'ward', 'callcenter'];

const listQuery = z.object({ venue: z.string().regex(/^[a-z0-9_-]{1,30}$/).optional(), done: z.string().regex(/^\d{1,19}$/).optional() });

@ApiExcludeController()
@Controller('tasks')
export class TaskPagesController {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly desk: VenueDeskRepository,
    private readonly accessLog: AccessLogService,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
  ) {}

  /** The list a user sees by default: a venue user their venue's, the others the office's. */
  private listFor(user: AuthUser, venue: string | undefined): string | null {
    const scope = VenueScope.of(user);
    if (venue !== undefined) {
      if (!this.ward.venues.some((v) => v.id === venue)) throw new VenuesException(VenuesErrorCode.TASK_NOT_FOUND, `no venue ${venue}`);
      this.desk.assertVenue(scope, venue);
      return venue;
    }
    if (user.role === 'venue') return user.venueId ?? '-';
    return null;
  }

  private mayUse(user: AuthUser, list: string | null): boolean {
    if (list === null) return OFFICE_LIST_ROLES.includes(user.role);
    return ['venue', 'ward', 'office'].includes(user.role) && VenueScope.of(user).allows(list);
  }

  @Get()
  @Allow('office', 'ward', 'callcenter', 'venue')
  async list(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const q = parseOrThrow(listQuery, query, 'query');
    const user = req.web.user;
    const list = this.listFor(user, q.venue);
    if (!this.mayUse(user, list)) throw new VenuesException(VenuesErrorCode.TASK_NOT_FOUND, 'no such task list');
    const items = await this.tasks.listOpen(list);
    const venueName = (id: string | null) => this.ward.venues.find((v) => v.id === id)?.name;
    const lists = [
      ...(OFFICE_LIST_ROLES.includes(user.role) ? [{ label: '事務センター', link: '/tasks', current: list === null }] : []),
      ...this.ward.venues.filter((v) => this.mayUse(user, v.id)).map((v) => ({ label: v.name, link: `/tasks?venue=${v.id}`, current: list === v.id })),
    ];
    res.render('tasks', {
      title: list === null ? 'タスク（事務センター）' : `タスク（${venueName(list)}）`,
      nav: 'tasks',
      web: req.web,
      listName: list === null ? '事務センター・コールセンター' : venueName(list),
      venueParam: list ?? '',
      lists: lists.length > 1 ? lists : [],
      done: q.done,
      items: items.map((t: TaskView) => ({ ...t, kindLabel: TASK_KIND_LABELS[t.kind] ?? t.kind })),
    });
  }

  @Post(':id/done')
  @Allow('office', 'ward', 'callcenter', 'venue')
  async complete(@Param('id') rawId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(bigintIdSchema, rawId, 'id');
    const task = await this.tasks.get(String(id));
    // Another list's task is answered as unknown.
    if (!task || !this.mayUse(req.web.user, task.venueId)) throw new VenuesException(VenuesErrorCode.TASK_NOT_FOUND, `no task ${id}`);
    await this.tasks.complete(task.id, req.web.user.username);
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: task.cardId ? [task.cardId] : [], detail: `task ${task.id} (${task.kind}) done`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    void body;
    res.redirect(303, `/tasks?${task.venueId ? `venue=${task.venueId}&` : ''}done=${task.id}`);
  }
}
