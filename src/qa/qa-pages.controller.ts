/** The pages of the shared Q&A book (R-4.7): the book and its search, reporting, drafting, approval, the auditors' view. */
import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import type { FieldError } from '../common/errors.js';
import { bigintIdSchema, parseOrThrow, zodFieldErrors } from '../common/zod-validation.js';
import { QaErrorCode, QaException } from './qa.exception.js';
import type { QaChangeKind, QaChanged, QaEntryView, QaStatus } from './qa.repository.js';
import { QA_ROLES, QaService, may } from './qa.service.js';

type WebRequest = Request & { web: WebSessionContext };

const STATUS_LABELS: Record<QaStatus, string> = {
  reported: '回答待ち（報告済み）',
  draft: '下書き（承認待ち）',
  approved: '承認済み（掲載中）',
  retired: '廃止',
};

const CHANGE_LABELS: Record<QaChangeKind, string> = {
  reported: '質問の報告',
  drafted: '回答の下書き',
  edited: '編集',
  approved: '承認',
  retired: '廃止',
};

const DONE: Record<string, string> = {
  reported: '質問を報告しました。回答が作成され、区が承認すると Q&A集 に掲載されます。',
  drafted: '回答を保存しました。区が承認すると Q&A集 に掲載されます。',
  approved: '承認しました。この版が Q&A集 に掲載されています。',
  retired: '廃止しました。Q&A集 には表示されません。',
};

const doneMessage = (done: unknown) => (typeof done === 'string' && Object.hasOwn(DONE, done) ? DONE[done] : undefined);

const FIELD_LABELS: Record<string, string> = { question: '質問', answer: '回答', category: '分類', version: '版' };

const QUESTION_MAX = 2000;
const ANSWER_MAX = 8000;

/** Form text: line breaks as sent by any browser become \n; blank means missing. */
const longText = (max: number) =>
  z
    .string({ error: '入力してください' })
    .transform((v) => v.replace(/\r\n?/g, '\n').trim())
    .pipe(z.string().min(1, '入力してください').max(max, `${max}文字以内で入力してください`));
const category = z
  .string({ error: '文字で入力してください' })
  .optional()
  .transform((v) => v?.trim() || null)
  .pipe(z.string().max(60, '60文字以内で入力してください').nullable());
const version = z.coerce.number({ error: '版が正しくありません。ページを再読み込みしてください' }).int().positive();

const reportSchema = z.object({ category, question: longText(QUESTION_MAX) });
const draftSchema = z.object({ version, category, question: longText(QUESTION_MAX), answer: longText(ANSWER_MAX) });
const decisionSchema = z.object({ version });
const bookQuerySchema = z.object({
  q: z.string().trim().max(200, '200文字以内で入力してください').optional(),
  category: z.string().trim().max(60).optional(),
  done: z.string().max(20).optional(),
});
const changesQuerySchema = z.object({ before: bigintIdSchema.optional() });
const entryId = z.uuid();

/** Lines of a text, for rendering with line breaks (no markup from input ever reaches the page). */
const lines = (text: string | null | undefined) => (text ? text.split('\n') : []);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

interface FormValues {
  category: string;
  question: string;
  answer: string;
}

@ApiExcludeController()
@Controller('qa')
export class QaPagesController {
  constructor(
    private readonly service: QaService,
    private readonly accessLog: AccessLogService,
  ) {}

  @Get()
  @Allow(...QA_ROLES.read)
  async book(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const params = Object.fromEntries(Object.entries(query).filter(([, v]) => typeof v === 'string' && v.trim() !== '')) as Record<string, string>;
    const f = parseOrThrow(bookQuerySchema, params, 'query');
    const user = req.web.user;
    const [items, categories, worklist, retired] = await Promise.all([
      this.service.book({ q: f.q, category: f.category }),
      this.service.bookCategories(),
      this.service.worklist(user),
      this.service.retired(user),
    ]);
    const row = (e: QaEntryView) => ({ ...e, statusLabel: STATUS_LABELS[e.status] });
    res.render('qa', {
      title: 'Q&A集',
      nav: 'qa',
      web: req.web,
      params: f,
      searched: Boolean(f.q || f.category),
      done: doneMessage(f.done),
      items: items.map((i) => ({ ...i, questionLines: lines(i.question), answerLines: lines(i.answer) })),
      categories: categories.map((c) => ({ value: c, selected: c === f.category })),
      showWorklist: may(user.role, 'seeUnapproved'),
      worklist: worklist.map(row),
      showRetired: may(user.role, 'seeRevisions'),
      retired: retired.map(row),
      canReport: may(user.role, 'report'),
      canSeeChanges: may(user.role, 'seeRevisions'),
    });
  }

  @Get('new')
  @Allow(...QA_ROLES.report)
  async newForm(@Req() req: WebRequest, @Res() res: Response) {
    await this.renderNew(req, res, 200, { category: '', question: '', answer: '' }, []);
  }

  @Get('changes')
  @Allow(...QA_ROLES.seeRevisions)
  async changes(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const f = parseOrThrow(changesQuerySchema, { before: str(query.before) || undefined }, 'query');
    const limit = 100;
    const rows = await this.service.changes({ before: f.before, limit });
    const last = rows.at(-1);
    res.render('qa-changes', {
      title: 'Q&A集の変更履歴',
      nav: 'qa',
      web: req.web,
      rows: rows.map((r) => ({
        ...r,
        changeLabel: CHANGE_LABELS[r.change] ?? r.change,
        statusLabel: STATUS_LABELS[r.status] ?? r.status,
        excerpt: r.question.length > 60 ? `${r.question.slice(0, 60)}…` : r.question,
      })),
      next: rows.length === limit && last ? `/qa/changes?before=${last.id}` : undefined,
      first: f.before ? '/qa/changes' : undefined,
    });
  }

  @Get(':id')
  @Allow(...QA_ROLES.read)
  async entry(@Param('id') id: string, @Query('done') done: unknown, @Req() req: WebRequest, @Res() res: Response) {
    await this.renderEntry(req, res, this.id(id), { done: doneMessage(done) });
  }

  @Post()
  @Allow(...QA_ROLES.report)
  async report(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const parsed = reportSchema.safeParse(body);
    if (!parsed.success) {
      await this.renderNew(req, res, 400, { category: str(body.category), question: str(body.question), answer: '' }, zodFieldErrors(parsed.error));
      return;
    }
    const entry = await this.service.report(parsed.data, req.web.user);
    await this.logChange(req, entry, 'reported');
    // Venue staff read the book only: the entry shows there once answered and approved.
    res.redirect(303, may(req.web.user.role, 'seeUnapproved') ? `/qa/${entry.id}?done=reported` : '/qa?done=reported');
  }

  @Post(':id/draft')
  @Allow(...QA_ROLES.draft)
  async draft(@Param('id') id: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const entryId = this.id(id);
    const submitted: FormValues = { category: str(body.category), question: str(body.question), answer: str(body.answer) };
    const parsed = draftSchema.safeParse(body);
    if (!parsed.success) {
      await this.renderEntry(req, res, entryId, { status: 400, form: submitted, fields: zodFieldErrors(parsed.error) });
      return;
    }
    await this.changeOrRefuse(req, res, entryId, submitted, () => this.service.draft(entryId, parsed.data, req.web.user));
  }

  @Post(':id/approve')
  @Allow(...QA_ROLES.decide)
  async approve(@Param('id') id: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const entryId = this.id(id);
    const { version: v } = parseOrThrow(decisionSchema, body);
    await this.changeOrRefuse(req, res, entryId, undefined, () => this.service.approve(entryId, v, req.web.user));
  }

  @Post(':id/retire')
  @Allow(...QA_ROLES.decide)
  async retire(@Param('id') id: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const entryId = this.id(id);
    const { version: v } = parseOrThrow(decisionSchema, body);
    await this.changeOrRefuse(req, res, entryId, undefined, () => this.service.retire(entryId, v, req.web.user));
  }

  /** A bad id is an entry that does not exist. */
  private id(id: string): string {
    if (!entryId.safeParse(id).success) throw new QaException(QaErrorCode.ENTRY_NOT_FOUND, `Q&A の項目 ${id.slice(0, 40)} は見つかりません`);
    return id;
  }

  /**
   * Runs a change and shows its result; a refused one (stale version, illegal step) answers 409 with
   * the entry as it is now, and keeps what the user typed so that nothing is lost.
   */
  private async changeOrRefuse(req: WebRequest, res: Response, id: string, submitted: FormValues | undefined, change: () => Promise<QaChanged>) {
    let changed: QaChanged;
    try {
      changed = await change();
    } catch (e) {
      if (e instanceof QaException && e.code !== QaErrorCode.ENTRY_NOT_FOUND) {
        await this.renderEntry(req, res, id, { status: e.status, error: e.message, stale: e.code === QaErrorCode.STALE_VERSION, submitted });
        return;
      }
      throw e;
    }
    await this.logChange(req, changed.entry, changed.change);
    const done = changed.entry.status === 'draft' ? 'drafted' : changed.entry.status;
    res.redirect(303, `/qa/${id}?done=${done}`);
  }

  private async logChange(req: WebRequest, entry: QaEntryView, what: string): Promise<void> {
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: [], detail: `qa ${entry.id} ${what} v${entry.version}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
  }

  private async renderNew(req: WebRequest, res: Response, status: number, form: FormValues, fields: FieldError[]) {
    res.status(status).render('qa-new', {
      title: status === 400 ? '入力に誤りがあります: 質問の報告' : '質問の報告',
      nav: 'qa',
      web: req.web,
      form,
      ...this.errorsView(fields),
      categories: await this.service.categories(),
      questionMax: QUESTION_MAX,
    });
  }

  private async renderEntry(
    req: WebRequest,
    res: Response,
    id: string,
    opts: { status?: number; done?: string; error?: string; stale?: boolean; fields?: FieldError[]; form?: FormValues; submitted?: FormValues },
  ) {
    const user = req.web.user;
    const page = await this.service.entry(id, user);
    const e = page.entry;
    const open = e.status !== 'retired';
    res.status(opts.status ?? 200).render('qa-entry', {
      title: opts.status && opts.status >= 400 ? `${opts.status === 409 ? '操作できません' : '入力に誤りがあります'}: Q&A 項目` : 'Q&A 項目',
      nav: 'qa',
      web: req.web,
      entry: { ...e, statusLabel: STATUS_LABELS[e.status], questionLines: lines(e.question), answerLines: lines(e.answer) },
      full: page.full,
      published: page.published && { ...page.published, answerLines: lines(page.published.answer), questionLines: lines(page.published.question) },
      revisions: page.revisions?.map((r) => ({
        ...r,
        changeLabel: CHANGE_LABELS[r.change] ?? r.change,
        statusLabel: STATUS_LABELS[r.status] ?? r.status,
        questionLines: lines(r.question),
        answerLines: lines(r.answer),
      })),
      done: opts.done,
      error: opts.error,
      stale: opts.stale,
      submitted: opts.submitted && (opts.submitted.question || opts.submitted.answer) ? { ...opts.submitted, questionLines: lines(opts.submitted.question), answerLines: lines(opts.submitted.answer) } : undefined,
      canDraft: page.full && open && may(user.role, 'draft'),
      canApprove: page.full && e.status === 'draft' && may(user.role, 'decide'),
      canRetire: page.full && open && may(user.role, 'decide'),
      form: opts.form ?? { category: e.category ?? '', question: e.question, answer: e.answer ?? '' },
      ...this.errorsView(opts.fields ?? []),
      categories: page.full ? await this.service.categories() : [],
      questionMax: QUESTION_MAX,
      answerMax: ANSWER_MAX,
    });
  }

  /** Field errors for the form: a summary linking to each field, and the message beside it. */
  private errorsView(fields: FieldError[]) {
    return {
      errorList: fields.map((f) => ({ ...f, label: FIELD_LABELS[f.field] ?? f.field, anchor: ['question', 'answer', 'category'].includes(f.field) ? f.field : undefined })),
      fieldErrors: Object.fromEntries(fields.map((f) => [f.field, f.message])),
    };
  }
}
