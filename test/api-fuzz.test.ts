/**
 * Property-based fuzzing of the whole API from its OpenAPI document with schemathesis (PyPI, a
 * venv that scripts/bootstrap.mjs provisions under the cache): generated valid and invalid
 * requests, bounded in examples and time, and any 5xx fails the run, so a new 500 fails CI. One
 * pass as the ward (the role that reaches most endpoints), one as an auditor (exports, history).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestSystem } from './support/test-system.js';

const PYTHON = process.env.SCHEMATHESIS_PYTHON;
// Fixed unless asked otherwise, so that a failure reproduces; FUZZ_SEED=random explores further.
const SEED = process.env.FUZZ_SEED === 'random' ? String(Math.floor(Math.random() * 2 ** 31)) : (process.env.FUZZ_SEED ?? '20261126');

function schemathesis(args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Run in a temporary directory: schemathesis keeps its own files (.schemathesis/) in the working directory.
    const config = join(cwd, 'schemathesis.toml');
    // Values seen in responses are not reused as inputs: the database is shared with the other test
    // files, and an action on one of their cards waits for a worker that stopped with its file.
    writeFileSync(config, '[phases.examples.extra-data-sources]\nresponses = false\n[phases.coverage.extra-data-sources]\nresponses = false\n[phases.fuzzing.extra-data-sources]\nresponses = false\n');
    const child = spawn(PYTHON!, ['-m', 'schemathesis.cli', '--config-file', config, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', PYTHONIOENCODING: 'utf-8' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('API fuzzing (schemathesis over the OpenAPI document)', () => {
  let sys: TestSystem;

  beforeAll(async () => {
    if (!PYTHON || !existsSync(PYTHON)) {
      throw new Error(
        `schemathesis is not installed (SCHEMATHESIS_PYTHON=${PYTHON ?? 'unset'}): run the tests with \`npm test\` (scripts/bootstrap.mjs installs it into ~/.cache/koto-card), or \`node scripts/bootstrap.mjs provision\`; it needs python3 with venv.`,
      );
    }
    sys = await TestSystem.start();
  });
  afterAll(() => sys?.stop());

  const fuzz = async (token: string, maxTime: number, maxExamples: number) => {
    const reports = mkdtempSync(join(tmpdir(), 'koto-fuzz-'));
    const { code, output } = await schemathesis(
      [
        'run',
        `${sys.baseUrl}/api/docs-json`,
        '--url',
        sys.baseUrl,
        '--checks',
        'not_a_server_error',
        '--phases',
        'examples,coverage,fuzzing',
        '--max-examples',
        String(maxExamples),
        '--max-time',
        String(maxTime),
        '--seed',
        SEED,
        '--workers',
        '2',
        '--request-timeout',
        '20',
        '--generation-database',
        'none',
        '--header',
        `Authorization: Bearer ${token}`,
        '--no-color',
        '--report-dir',
        reports,
        // For a closer look: FUZZ_ARGS="--report har" keeps every request and answer in the report directory.
        ...(process.env.FUZZ_ARGS ? process.env.FUZZ_ARGS.split(' ') : []),
      ],
      reports,
      (maxTime + 40) * 1000,
    );
    // Only the verdict and the failures: the full log is long.
    const failures = output.slice(Math.max(0, output.indexOf('FAILURES')));
    if (code !== 0 || process.env.FUZZ_LOG) process.stderr.write(`schemathesis (seed ${SEED}, reports in ${reports}) output:\n${output.slice(-15_000)}\n`);
    expect({ code, failures: code === 0 ? '' : failures.slice(0, 4000) }).toEqual({ code: 0, failures: '' });
    expect(output).toMatch(/test cases|Test cases/i);
  };

  it('finds no 5xx as the ward', async () => fuzz(await sys.token('ward'), 45, 40), 110_000);

  it('finds no 5xx as an auditor', async () => fuzz(await sys.token('auditor'), 20, 20), 80_000);
});
