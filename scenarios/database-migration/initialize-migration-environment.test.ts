/**
 * runbooks/database-migration.md — Standard Operations, Migration Setup: Initialize Migration Environment.
 * The section's four lines run as typed in bash against the suite's running stack, each checked for what the section
 * says it does: `up --bare` finds the stack already running and refuses in one line naming it and the remedy (and
 * leaves it running, with no connectors: bare); the seed file creates the sample tables with exactly the rows it
 * inserts (and, with ON_ERROR_STOP, a seed that fails exits non-zero: as the original typed it, psql exits 0 past a
 * failed statement, Change Log row 23); `status` reports every component running; Kafka Connect answers with its
 * version and the stack's Kafka cluster. Broken for real: with Kafka Connect stopped, `status` exits 1 naming it and
 * the curl fails; started again, both pass. No workload: nothing is replicating yet in this section.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject, onTestFinished } from 'vitest';
import { TOPIC_PREFIX } from '../../harness/env/connector-variables.js';
import { COMPONENTS } from '../../harness/env/stack.js';
import { VERSIONS } from '../../harness/env/runtime/versions.js';
import { withAdmin } from '../../harness/pipeline/kafka-admin.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { splitSql } from '../../harness/runbook/lint/sql-split.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandGroups, migrationShell } from '../../harness/scenario/migration-shell.js';
import { SAMPLE_TABLES } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { type SqlSession } from '../../harness/verify/reconcile/index.js';

const section = runbookSection('database-migration', 'initialize-migration-environment');
const SQL_SERVER_SKIP = 'the section seeds a PostgreSQL source (fixtures/seed/sample-tables.postgres.sql); SQL Server cannot run on the local embedded stack';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The component stopped to break the checks: the one both `status` and the curl depend on. */
const STOPPED = 'connect';

/** The keys each INSERT of the seed file writes, per table (the key is the first column it names). */
function seedKeys(sql: string): Record<string, { key: string; keys: number[] }> {
  const out: Record<string, { key: string; keys: number[] }> = {};
  for (const { text } of splitSql(sql)) {
    const m = /^INSERT INTO (\w+)\s*\((\w+)/i.exec(text);
    if (m) out[m[1]!] = { key: m[2]!, keys: [...text.matchAll(/^\s*\((\d+),/gm)].map((k) => Number(k[1])) };
  }
  return out;
}

async function keysIn(source: SqlSession, table: string, key: string): Promise<number[] | string> {
  try {
    return (await source.query(`SELECT ${key}::text AS k FROM ${table} ORDER BY ${key}`)).map((r) => Number(r.k));
  } catch (e) {
    return (e as Error).message;
  }
}

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`the stack up, the source seeded, every component and Kafka Connect answering ${variant.label}`, async ({ source, target, connect, endpoints, pgTools, faults }) => {
      const groups = commandGroups(section.blocks({ lang: 'bash' })[0]!.value);
      expect(groups.map((g) => g.lines.length), 'four steps of one line each').toEqual([1, 1, 1, 1]);
      const [up, seed, status, curl] = groups as [(typeof groups)[0], (typeof groups)[0], (typeof groups)[0], (typeof groups)[0]];
      expect(up.lines[0]).toBe('runbook-harness up --bare');
      const row23 = changeLogClaim('database-migration', 23);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: TOPIC_PREFIX });
      onTestFinished(() => shell.dispose());
      // The operator runs the section in the project's checkout: the seed file's relative path resolves there.
      const seedFile = /-f\s+(\S+)/.exec(seed.lines[0]!)![1]!;
      mkdirSync(path.join(shell.cwd, path.dirname(seedFile)), { recursive: true });
      copyFileSync(path.join(REPO_ROOT, seedFile), path.join(shell.cwd, seedFile));
      const expected = seedKeys(readFileSync(path.join(REPO_ROOT, seedFile), 'utf8'));
      expect(Object.keys(expected).sort(), 'the seed file inserts into each sample table').toEqual([...SAMPLE_TABLES].sort());
      const dropSampleTables = () => source.query(`DROP TABLE IF EXISTS ${SAMPLE_TABLES.join(', ')} CASCADE`);
      await dropSampleTables();
      await target.query(`DROP TABLE IF EXISTS ${SAMPLE_TABLES.join(', ')} CASCADE`);

      await runbookStep(up.title, async () => {
        const r = await shell.run(up.lines[0]!);
        expect(r.exitCode, `up --bare against the running stack: ${r.stdout}${r.stderr}`).toBe(2);
        const lines = r.stderr.trim().split('\n');
        expect(lines, 'one line, no stack trace').toHaveLength(1);
        expect(lines[0]).toMatch(/a stack is already running .*stack\.json.*runbook-harness down/);
        // What --bare means, on the stack it found: Kafka Connect runs no connector (this runbook deploys them).
        expect(await connect.getConnectors(), 'no connectors on the bare stack').toEqual([]);
      });

      await runbookStep(seed.title, async () => {
        const line = seed.lines[0]!;
        expect(line).toContain('-v ON_ERROR_STOP=1');
        // A source whose orders table has another shape: the seed's INSERT into orders fails.
        await source.query('CREATE TABLE orders (order_id integer PRIMARY KEY, total numeric(12, 2))');
        const asOriginallyTyped = await shell.run(line.replace(' -v ON_ERROR_STOP=1', ''));
        const ordersThen = await keysIn(source, 'orders', 'order_id');
        const stopped = await shell.run(line);
        await attachJson('seed over an orders table of another shape', { withoutOnErrorStop: asOriginallyTyped.exitCode, ordersKeys: ordersThen, withOnErrorStop: stopped.exitCode });
        assertClaim(
          row23,
          asOriginallyTyped.exitCode === 0 && /ERROR:/.test(asOriginallyTyped.stderr) && Array.isArray(ordersThen) && ordersThen.length === 0 && stopped.exitCode === 3,
          `psql -f without ON_ERROR_STOP exited ${asOriginallyTyped.exitCode} with ${JSON.stringify(asOriginallyTyped.stderr.trim().slice(0, 200))} and orders holding ${JSON.stringify(ordersThen)}; with ON_ERROR_STOP=1 it exited ${stopped.exitCode}`,
        );

        await dropSampleTables();
        const r = await shell.run(line);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stderr, 'no statement failed').not.toMatch(/ERROR/);
        const seen: Record<string, number[] | string> = {};
        for (const [table, { key }] of Object.entries(expected)) seen[table] = await keysIn(source, table, key);
        await attachJson('seed keys per table: expected (from the file) and in the source', { expected, seen });
        expect(seen, 'every sample table exists with exactly the rows the seed file inserts').toEqual(Object.fromEntries(Object.entries(expected).map(([t, e]) => [t, e.keys])));
      });

      await runbookStep(status.title, async () => {
        const r = await shell.run(status.lines[0]!);
        expect(r.exitCode, r.stdout).toBe(0);
        expect(r.stdout).toMatch(/: healthy\n/);
        for (const name of COMPONENTS) expect(r.stdout, name).toMatch(new RegExp(`^\\s+${name}\\s+running$`, 'm'));
      });

      const clusterId = await withAdmin(endpoints.kafka.bootstrap, async (admin) => (await admin.describeCluster()).clusterId);
      await runbookStep(curl.title, async () => {
        const r = await shell.run(curl.lines[0]!);
        expect(r.exitCode, r.stderr).toBe(0);
        const answer = JSON.parse(r.stdout) as { version?: string; kafka_cluster_id?: string };
        expect(answer.version, 'the Kafka Connect version this stack pins').toBe(VERSIONS.kafka);
        expect(answer.kafka_cluster_id, "Connect works on the stack's own Kafka cluster").toBe(clusterId);
      });

      await runbookStep(`A stopped component (${STOPPED}): status and the curl both fail; started again, both pass`, async () => {
        const component = faults.component(STOPPED);
        await component.stop();
        try {
          const down = await shell.run(status.lines[0]!);
          expect(down.exitCode, down.stdout).toBe(1);
          expect(down.stdout).toMatch(/NOT healthy/);
          expect(down.stdout).toMatch(new RegExp(`^\\s+${STOPPED}\\s+down$`, 'm'));
          const unanswered = await shell.run(curl.lines[0]!);
          expect(unanswered.exitCode, `curl with ${STOPPED} stopped: ${unanswered.stdout}`).not.toBe(0);
        } finally {
          await component.start();
        }
        const back = await shell.run(status.lines[0]!);
        expect(back.exitCode, back.stdout).toBe(0);
        const answers = await shell.run(curl.lines[0]!);
        expect(answers.exitCode, answers.stderr).toBe(0);
        expect((JSON.parse(answers.stdout) as { kafka_cluster_id?: string }).kafka_cluster_id).toBe(clusterId);
      });
    });
  }
});
