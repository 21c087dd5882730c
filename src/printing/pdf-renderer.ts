/**
 * Handlebars → PDF with one reused Chromium (Puppeteer, Debian's browser: no download). A document
 * of many items is rendered in chunks (a few hundred items per `page.pdf`), each chunk written to
 * its own file in a work folder and renamed into place only when complete; the chunks are then
 * joined into one file by `pdfunite` (poppler). Memory stays bounded by the chunk, and a render that
 * was interrupted resumes from the last finished chunk (the files that exist are not rendered again).
 *
 * The print font reaches Chromium through fontconfig (a configuration that adds `fonts/` to the
 * system's folders), not through a `file:` URL in CSS: Chromium does not reliably use a font loaded
 * that way for every script, and silently falls back to another font for Latin text. The pages name
 * the font's family, and every PDF is checked afterwards: only the print font embedded, no Type 3.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Handlebars from 'handlebars';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const run = promisify(execFile);

export interface RenderRequest<T> {
  /** Template name in the templates folder, without `.hbs`: it renders one item (one or more pages). */
  template: string;
  items: T[];
  /** Items per `page.pdf` call. */
  chunkSize?: number;
  /** Chunks rendered at once (pages of the one browser). */
  concurrency?: number;
  /** The finished PDF. */
  outFile: string;
  /** Where chunks are kept until the document is finished (same folder again to resume). */
  workDir: string;
  /** Data every item's template sees as `@root.shared`. */
  shared?: Record<string, unknown>;
  onProgress?: (itemsDone: number, itemsTotal: number) => void | Promise<void>;
}

export interface RenderResult {
  file: string;
  sha256: string;
  bytes: number;
  chunks: number;
  /** Chunks found finished in the work folder and not rendered again. */
  resumedChunks: number;
}

export interface PdfRendererOptions {
  templatesDir?: string;
  /** The print font's family name, as fontconfig knows it (`IPAmjMincho`). */
  fontFamily: string;
  /** Extra font folder (the project's `fonts/`), added to fontconfig's. */
  fontsDir?: string;
  executablePath?: string;
  /**
   * Chunks rendered at once by default (`PRINT_CONCURRENCY`, default 1). Two at once render 17,000
   * postcards in about half the time (24 s against 47 s) but take the browser past 1.5 GB (1.76 GB
   * against 1.34 GB, bench:print); scale print workers out rather than up.
   */
  concurrency?: number;
}

export interface TemplateManifest {
  /** CSS page size: `A4`, or `100mm 148mm`. */
  paper: string;
  /** Pages one item takes (the text check counts pages per item). */
  pagesPerItem: number;
  title: string;
}

const chunkName = (i: number) => `chunk-${String(i).padStart(5, '0')}.pdf`;

/** SHA-256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const part of createReadStream(file)) hash.update(part as Buffer);
  return hash.digest('hex');
}

export class PdfRenderer {
  private browser?: Promise<Browser>;
  private readonly templates = new Map<string, Handlebars.TemplateDelegate>();
  private readonly hbs = Handlebars.create();
  private readonly templatesDir: string;
  private manifests?: Record<string, TemplateManifest>;

  constructor(private readonly options: PdfRendererOptions) {
    this.templatesDir = resolve(options.templatesDir ?? 'templates');
    this.hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  }

  /** Registers a helper for the templates (era dates, QR codes, barcodes come from the printing service). */
  helper(name: string, fn: Handlebars.HelperDelegate): void {
    this.hbs.registerHelper(name, fn);
  }

  private template(name: string): Handlebars.TemplateDelegate {
    if (!/^[a-z0-9-]{1,60}$/.test(name)) throw new Error(`bad template name ${name}`);
    let t = this.templates.get(name);
    if (!t) {
      t = this.hbs.compile(readFileSync(join(this.templatesDir, `${name}.hbs`), 'utf8'), { strict: true });
      this.templates.set(name, t);
    }
    return t;
  }

  /** A template's paper and pages per item, from `templates/manifest.json`. */
  manifest(template: string): TemplateManifest {
    this.manifests ??= JSON.parse(readFileSync(join(this.templatesDir, 'manifest.json'), 'utf8')) as Record<string, TemplateManifest>;
    const m = this.manifests[template];
    if (!m || typeof m.paper !== 'string' || !Number.isInteger(m.pagesPerItem)) throw new Error(`templates/manifest.json has no paper and pagesPerItem for ${template}`);
    return m;
  }

  private stylesheet(template: string): string {
    const css = readFileSync(join(this.templatesDir, 'print.css'), 'utf8');
    const paper = this.manifest(template).paper;
    if (!/^(A4|A5|B5|[0-9.]+mm [0-9.]+mm)$/.test(paper)) throw new Error(`bad paper ${paper} for ${template}`);
    // The family name comes from the font file itself; quoted as a CSS string.
    return `@page { size: ${paper}; margin: 0; }\n:root { --print-font: ${JSON.stringify(this.options.fontFamily)}; }\n${css}`;
  }

  /** The HTML of a chunk of items. */
  html<T>(template: string, items: T[], shared: Record<string, unknown> = {}): string {
    const t = this.template(template);
    const body = items.map((item) => t(item, { data: { root: { shared } } })).join('\n');
    return `<!doctype html><html lang="ja"><head><meta charset="utf-8"><style>${this.stylesheet(template)}</style></head><body>${body}</body></html>`;
  }

  private launch(): Promise<Browser> {
    this.browser ??= (async () => {
      const executablePath = this.options.executablePath ?? process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
      if (!executablePath) throw new Error("no Chromium for printing: install Debian's chromium (npm start and .ci/run do when they may) or set CHROMIUM_PATH");
      const env: Record<string, string> = { ...(process.env as Record<string, string>) };
      if (this.options.fontsDir && existsSync(this.options.fontsDir)) {
        const dir = join(tmpdir(), `koto-print-fontconfig-${process.pid}`);
        mkdirSync(dir, { recursive: true });
        const conf = join(dir, 'fonts.conf');
        writeFileSync(
          conf,
          `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <dir>${resolve(this.options.fontsDir)}</dir>\n  <cachedir>${join(dir, 'cache')}</cachedir>\n</fontconfig>\n`,
        );
        env.FONTCONFIG_FILE = conf;
      }
      const root = typeof process.getuid === 'function' && process.getuid() === 0;
      return puppeteer.launch({
        executablePath,
        headless: true,
        env,
        // Over a pipe, not a WebSocket: Chromium runs in its own process group and, on a socket,
        // outlived a print worker killed with SIGKILL (an orphaned browser per restart); a pipe
        // closes with the worker and the browser exits (test/mailing-proof.test.ts).
        pipe: true,
        // Root (CI containers) cannot use Chromium's sandbox; no network is ever needed.
        args: [...(root ? ['--no-sandbox'] : []), '--font-render-hinting=none', '--disable-gpu', '--no-first-run'],
      });
    })();
    return this.browser;
  }

  /** The browser's resident memory (every Chromium process under it), in bytes; for the benchmark. */
  async browserMemory(): Promise<number> {
    const pid = (await this.launch()).process()?.pid;
    if (!pid) return 0;
    const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,rss=']);
    const rows = stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    const tree = new Set([pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [p, pp] of rows) {
        if (tree.has(pp) && !tree.has(p)) {
          tree.add(p);
          grew = true;
        }
      }
    }
    return rows.filter(([p]) => tree.has(p)).reduce((sum, [, , rss]) => sum + (rss || 0), 0) * 1024;
  }

  /** Renders one chunk's items to a PDF buffer. */
  async renderChunk<T>(template: string, items: T[], shared?: Record<string, unknown>, reuse?: Page): Promise<Uint8Array> {
    // A page is reused for every chunk of a render lane: a new page loads the print font again
    // (IPAmj Mincho is 46 MB), which made a chunk of 250 postcards cost twice as much as of 500.
    const page = reuse ?? (await (await this.launch()).newPage());
    try {
      await page.setContent(this.html(template, items, shared), { waitUntil: 'load', timeout: 120_000 });
      // Fonts are loaded before printing (a string, as it runs in the page, not in Node).
      await page.evaluate('document.fonts.ready.then(() => true)');
      return await page.pdf({ preferCSSPageSize: true, printBackground: true, timeout: 300_000 });
    } finally {
      if (!reuse) await page.close().catch(() => undefined);
    }
  }

  /** Renders a whole document in chunks into one file (see the module comment). */
  async render<T>(req: RenderRequest<T>): Promise<RenderResult> {
    const size = req.chunkSize ?? 500;
    const total = req.items.length;
    const count = Math.max(1, Math.ceil(total / size));
    mkdirSync(req.workDir, { recursive: true });
    const done = new Set(readdirSync(req.workDir).filter((f) => /^chunk-\d{5}\.pdf$/.test(f)));
    let resumed = 0;
    let finished = 0;
    // Chunks render on `concurrency` pages of the one browser at once; each is its own file, so the
    // order of completion does not matter, and progress counts finished chunks.
    let next = 0;
    const worker = async () => {
      let page: Page | undefined;
      try {
        for (let i = next++; i < count; i = next++) {
          const name = chunkName(i);
          if (done.has(name)) resumed++;
          else {
            page ??= await (await this.launch()).newPage();
            const pdf = await this.renderChunk(req.template, req.items.slice(i * size, (i + 1) * size), req.shared, page);
            const tmp = join(req.workDir, `${name}.partial`);
            writeFileSync(tmp, pdf);
            renameSync(tmp, join(req.workDir, name));
          }
          finished++;
          await req.onProgress?.(Math.min(total, finished * size), total);
        }
      } finally {
        await page?.close().catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: Math.min(count, req.concurrency ?? this.options.concurrency ?? 1) }, worker));
    mkdirSync(dirname(resolve(req.outFile)), { recursive: true });
    const tmpOut = `${req.outFile}.partial`;
    const chunks = Array.from({ length: count }, (_, i) => join(req.workDir, chunkName(i)));
    if (count === 1) writeFileSync(tmpOut, readFileSync(chunks[0]));
    else await run('pdfunite', [...chunks, tmpOut], { maxBuffer: 16 * 1024 * 1024 });
    renameSync(tmpOut, req.outFile);
    rmSync(req.workDir, { recursive: true, force: true });
    const sha256 = await sha256File(req.outFile);
    return { file: req.outFile, sha256, bytes: statSync(req.outFile).size, chunks: count, resumedChunks: resumed };
  }

  async close(): Promise<void> {
    const b = this.browser;
    this.browser = undefined;
    if (b) await (await b).close().catch(() => undefined);
  }
}
