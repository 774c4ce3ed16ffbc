/**
 * npm run soak — the scenario suite RUNS times in a row (default 5), each on a fresh stack (the scenarios
 * project's globalSetup starts and stops one per run). Prints one row per run: passed, failed, skipped,
 * harness-initiated restarts/retries/repairs (from the findings ledger), wall time; then the goal line.
 * Never fails on a missed goal (a benchmark, not a test); exits 2 on bad input.
 *
 *   npm run soak -- [--runs N] [vitest filters...]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readFindings, summarizeFindings } from '../harness/report/findings-ledger.js';

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; status: string; message?: string; assertionResults: { fullName: string; status: string; failureMessages?: string[] }[] }[];
}

interface SoakRow {
  run: number;
  exitCode: number | null;
  passed: number;
  failed: number;
  skipped: number;
  harnessActions: number;
  seconds: number;
  failedTests: string[];
  findings: string[];
}

/** Each failed test (or a file that failed outside its tests) with the first line of why. */
function failures(result: VitestJson): string[] {
  const firstLine = (text?: string) => (text ?? '').split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 300) ?? '';
  return result.testResults.flatMap((f) => {
    const file = path.relative('.', f.name);
    const failed = f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${file}: ${a.fullName} — ${firstLine(a.failureMessages?.[0])}`);
    return failed.length || f.status !== 'failed' ? failed : [`${file}: ${firstLine(f.message)}`];
  });
}

function fail(message: string): never {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({ options: { runs: { type: 'string', default: '5' } }, allowPositionals: true });
  } catch (error) {
    fail(`${(error as Error).message}; usage: npm run soak -- [--runs N] [vitest filters...]`);
  }
})();
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) fail(`--runs takes a whole number from 1 to 20, got '${values.runs}'`);

const outDir = path.resolve('reports', 'soak');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const vitest = path.resolve('node_modules', 'vitest', 'vitest.mjs');
const rows: SoakRow[] = [];

for (let run = 1; run <= runs; run++) {
  const json = path.join(outDir, `run-${run}.json`);
  const ledger = path.join(outDir, `run-${run}-findings.jsonl`);
  process.stderr.write(`soak: run ${run} of ${runs} …\n`);
  const started = Date.now();
  const child = spawnSync(process.execPath, [vitest, 'run', '--project', 'scenarios', '--reporter=dot', '--reporter=json', `--outputFile.json=${json}`, ...positionals], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, RUNBOOK_HARNESS_FINDINGS: ledger },
  });
  const seconds = (Date.now() - started) / 1000;
  let result: VitestJson | undefined;
  try {
    result = JSON.parse(readFileSync(json, 'utf8')) as VitestJson;
  } catch {
    // vitest died before writing its report: the row says so through its exit code and zero counts
  }
  const findings = readFindings(ledger);
  rows.push({
    run,
    exitCode: child.status,
    passed: result?.numPassedTests ?? 0,
    failed: result?.numFailedTests ?? 0,
    skipped: (result?.numPendingTests ?? 0) + (result?.numTodoTests ?? 0),
    harnessActions: findings.length,
    seconds,
    failedTests: result ? failures(result) : ['(no vitest report)'],
    findings: findings.length ? summarizeFindings(findings) : [],
  });
}

const header = '| run | exit | passed | failed | skipped | harness-initiated restarts/retries/repairs | wall time |';
const lines = [header, '|---|---|---|---|---|---|---|', ...rows.map((r) => `| ${r.run} | ${r.exitCode} | ${r.passed} | ${r.failed} | ${r.skipped} | ${r.harnessActions} | ${(r.seconds / 60).toFixed(1)} min |`)];
process.stdout.write(`\n${lines.join('\n')}\n`);
for (const r of rows) {
  for (const t of r.failedTests) process.stdout.write(`run ${r.run} failed: ${t}\n`);
  for (const f of r.findings) process.stdout.write(`run ${r.run}: ${f}\n`);
}
const green = rows.filter((r) => r.exitCode === 0 && r.failed === 0).length;
const restarts = rows.reduce((sum, r) => sum + r.harnessActions, 0);
process.stdout.write(`\ngoal: ${runs}/${runs} green with 0 harness-initiated restarts — measured ${green}/${runs} green, ${restarts} harness-initiated actions\n`);
process.stdout.write(`per-run vitest JSON and findings ledgers: ${path.relative('.', outDir)}/\n`);
