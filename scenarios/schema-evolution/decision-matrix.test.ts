/**
 * runbooks/schema-evolution.md — Quick Reference, Schema Change Decision Matrix: one test per row of the matrix as
 * the runbook has it (an edited matrix changes what runs). Each applies the row's change to a table of its own
 * while a workload writes to it, writes probe rows of the new shape, observes what reaches the target (and in
 * what form) within the lag SLO with no operator action, and compares that with the row's Auto-Handled? cell for
 * the source dialect and its Downtime? cell. Then the commands of the row's Action Required run as the runbook
 * writes them (psql, runbook-harness; after the drain unless the sink task FAILED), and nothing acknowledged may
 * be lost. The harness repairs nothing itself: a FAILED sink that the row's commands do not bring back fails
 * the row, with the runbook's file:line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { summariseState } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachSamples, attachText, runbookStep } from '../../harness/report/step.js';
import { checkClaim, type ClaimVerdict } from '../../harness/runbook/claims.js';
import { decisionMatrix } from '../../harness/runbook/decision-matrix.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { actionCommands, createSql, ddlSql, experimentFor, type MatrixObservation, PROBE_KEY_BASE, targetShape } from '../../harness/scenario/decision-matrix-experiments.js';
import { closeOutWorkload } from '../../harness/scenario/no-loss.js';
import { startStateSampler } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, awaitDrained, awaitRows, CONVERGE_LIMIT_MS, describeTable, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { fillPlaceholders, runSql } from '../../harness/scenario/runbook-blocks.js';
import { runShellLine, type ShellContext } from '../../harness/scenario/runbook-commands.js';
import { dlqOf, dlqRecordKey } from '../../harness/scenario/topic-reads.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE, ensureHeartbeatTable, sampleHeartbeatLag } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'schema-change-decision-matrix');
const KEY = 'id';
/** Workload writes before the change, so the table holds rows written through the pipeline as well as seed rows. */
const WRITES_BEFORE_CHANGE = 10;
const WORKLOAD_RATE = 10;

describe(section.title, () => {
  decisionMatrix('schema-evolution').forEach((row, index) => {
    const experiment = experimentFor(row.changeType);
    const table = `matrix_${index + 1}`;
    for (const variant of sourceVariants()) {
      // The experiments' DDL is PostgreSQL's; a SQL Server source needs its own (and capture instances).
      const runs = variant.runs && variant.dialect === 'postgres';
      const label = variant.runs && !runs ? `[${variant.dialect} source — skipped: the matrix experiments have no T-SQL DDL yet]` : variant.label;
      test.skipIf(!runs)(`${row.changeType} ${label}`, async ({ source, target, pipeline, connect, kafka, endpoints, pgTools }) => {
        expect(experiment, `${section.file}:${row.line} names change type '${row.changeType}', for which scenarios/schema-evolution/decision-matrix.test.ts has no experiment`).toBeDefined();
        const e = experiment!;
        const dialect = variant.dialect;
        const lagMs = lagSloMs();

        await source.query(`DROP TABLE IF EXISTS ${table}, ${DEFAULT_HEARTBEAT_TABLE} CASCADE`);
        await target.query(`DROP TABLE IF EXISTS ${table}, ${DEFAULT_HEARTBEAT_TABLE} CASCADE`);
        await runSql(source, createSql(e, table), `create ${table} with seed rows`);
        await ensureHeartbeatTable({ source });
        const sourceConfig = Object.fromEntries(Object.entries(e.sourceConfig ?? {}).map(([k, v]) => [k, v.replaceAll('%t', table)]));
        await pipeline.deploy({ tables: [table, DEFAULT_HEARTBEAT_TABLE], source: sourceConfig });
        const snapshot = await awaitConverged(source, target, [{ table, key: [KEY] }]);
        expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
        const workload = Workload.start(source, { table, keyColumn: KEY, shape: (_, n) => e.before(n), ratePerSecond: WORKLOAD_RATE });
        await pollUntil({ what: `${WRITES_BEFORE_CHANGE} workload writes`, limitMs: CONVERGE_LIMIT_MS }, async () => ({ done: workload.acknowledged >= WRITES_BEFORE_CHANGE, seen: `${workload.acknowledged}` }));
        const columnsBefore = await describeTable(target, table);
        const states = startStateSampler(connect, pipeline.sinkName);

        if (e.newShapeFirst) workload.setShape((_, n) => e.after(n));
        const ddlError = await runbookStep(`Apply the change: ${row.changeType}`, async () => {
          await attachJson('sink status before the change', await connect.getConnectorStatus(pipeline.sinkName));
          // The application switches to the new shape with the change, between two of its writes: an old-shape
          // write in flight across a rename would fail on the application's side, not the pipeline's.
          const error = await workload.between(async () => {
            try {
              await runSql(source, ddlSql(e, table), `source DDL (${dialect})`);
              return undefined;
            } catch (error) {
              return (error as Error).message.split('\n')[0]!;
            } finally {
              // Rows of the new shape from now on (whether or not the DDL went through).
              workload.setShape((_, n) => e.after(n));
            }
          });
          if (error) await attachText('the source rejected the DDL', error);
          return error;
        });

        const observation = await runbookStep(`Write rows of the new shape; observe the target within the lag SLO (${lagMs / 1000} s)`, async () => {
          const planned = e.probes ? e.probes(PROBE_KEY_BASE) : [{ key: PROBE_KEY_BASE + 1, row: e.after(PROBE_KEY_BASE + 1) }];
          const probes = await Promise.all(
            planned.map(async ({ key, row: values }) => {
              const columns = Object.keys(values);
              try {
                await source.query(`INSERT INTO ${table} (${KEY}, ${columns.join(', ')}) VALUES (${[KEY, ...columns].map((_, i) => `$${i + 1}`).join(', ')})`, [String(key), ...columns.map((c) => values[c]!)]);
              } catch (error) {
                return { key, row: values, sourceError: (error as Error).message.split('\n')[0], arrived: false, seconds: 0, inTarget: null };
              }
              const seen = await awaitRows(target, `SELECT * FROM ${table} WHERE ${KEY} = ${key}`, 1, lagMs);
              return { key, row: values, arrived: seen.ok, seconds: seen.seconds, inTarget: seen.rows[0] ?? null };
            }),
          );
          // Replication of the rest of the pipeline over the same window (the Downtime? observation).
          const heartbeat = await sampleHeartbeatLag({ source, target, durationMs: lagMs, intervalMs: 1_000, timeoutMs: lagMs });
          const dlqAll = await kafka.read(pipeline.dlqTopic, { limitMs: 15_000 });
          const dlq = dlqOf(dlqAll, pipeline.topicOf(table));
          const shape = await targetShape(target, table);
          const seedRowsInTarget = await target.query(`SELECT * FROM ${table} WHERE ${KEY} IN (1, 2, 3) ORDER BY ${KEY}`).catch(() => []);
          const o: MatrixObservation = {
            table,
            ddlError,
            probes,
            columnsBefore,
            columnsAfter: await describeTable(target, table),
            targetPrimaryKey: shape.primaryKey,
            targetConstraints: shape.constraints,
            targetIndexes: shape.indexes,
            seedRowsInTarget,
            dlqKeys: [...new Set(dlq.map((m) => dlqRecordKey(m, KEY)).filter((k): k is number => k !== undefined))],
          };
          await attachJson('observation', o);
          await attachSamples('heartbeat lag after the change', heartbeat.samples.map((s) => ({ writtenAt: s.writtenAt, lagSeconds: s.lagSeconds, timedOut: String(s.timedOut) })));
          await attachJson(`DLQ records of ${table} (${dlq.length})`, dlq.slice(0, 20).map((m) => ({ key: m.key, headers: m.headers })));
          return { o, heartbeat, dlq };
        });
        workload.setShape((_, n) => (ddlError ? e.before(n) : e.after(n)));
        const history = await workload.stop();
        const sinkStates = await states.stop();
        await attachSamples('sink state during the change', sinkStates);

        const verdicts: ClaimVerdict[] = [];
        await runbookStep(`Auto-Handled? (${dialect === 'postgres' ? 'PostgreSQL' : 'SQL Server'} source): the matrix says ${row.autoHandled[dialect]}`, async () => {
          const seen = e.verdict(observation.o);
          const verdict = checkClaim(row.autoHandledClaim(dialect), seen.autoHandled === row.autoHandled[dialect], `${seen.autoHandled}: ${seen.observed}`);
          await attachJson('claim verdict', verdict);
          verdicts.push(verdict);
        });
        await runbookStep(`Downtime?: the matrix says ${row.downtime ? 'Yes' : 'No'}`, async () => {
          // Downtime: the change stops replication or the table's writes, with no operator action.
          const notRunning = sinkStates.filter((s) => s.state !== 'RUNNING');
          const rejected = history.errors.length + observation.o.probes.filter((p) => p.sourceError).length;
          const lagBroken = observation.heartbeat.timeouts > 0 || observation.heartbeat.max * 1000 >= lagMs;
          const down = notRunning.length > 0 || rejected > 0 || lagBroken;
          const observed = [
            notRunning.length ? `sink left RUNNING (${[...new Set(notRunning.map((s) => s.state))].join(', ')} in ${notRunning.length} of ${sinkStates.length} samples)` : `sink RUNNING in all ${sinkStates.length} samples`,
            `heartbeat max ${observation.heartbeat.max.toFixed(2)} s over ${observation.heartbeat.count} probes, ${observation.heartbeat.timeouts} timed out`,
            rejected ? `the source rejected ${rejected} writes to ${table} (${[...new Set(history.errors.map((x) => x.message))].slice(0, 2).join('; ')})` : `the source accepted every write to ${table}`,
            `${observation.dlq.length} records of ${table} in the DLQ`,
          ].join('; ');
          const verdict = checkClaim(row.downtimeClaim(), down === row.downtime, `${down ? 'Yes' : 'No'}: ${observed}`);
          await attachJson('claim verdict', verdict);
          verdicts.push(verdict);
        });

        await runbookStep(`Action Required: ${row.actionRequired}`, async () => {
          const status = await connect.getConnectorStatus(pipeline.sinkName);
          const sinkFailed = summariseState(status) === 'FAILED';
          await attachJson(`sink status before the Action Required (${summariseState(status)})`, status);
          const commands = actionCommands(row).map((c) => fillPlaceholders(c, { table_name: table, ...e.placeholders }));
          const problems: string[] = [];
          if (sinkFailed && commands.length === 0) problems.push('the sink task FAILED and the row\'s Action Required gives no command to recover it');
          if (!sinkFailed) {
            // The matrix's manual steps come after the sink has drained (queued events would undo them).
            const drained = await awaitDrained(target, table, KEY, await workload.mark());
            if (!drained.drained) problems.push(`the sink did not drain ${table} before the Action Required (${drained.seconds.toFixed(0)} s)`);
            if (e.failingShortcut) {
              const sql = e.failingShortcut.replaceAll('%t', table);
              const attempt = await target.query(sql).then(() => undefined, (error: Error) => error.message.split('\n')[0]!);
              await attachText(`shortcut the matrix rules out: ${sql}`, attempt ?? 'succeeded');
              if (attempt === undefined) problems.push(`${sql} succeeded on the replica, though the matrix says it fails`);
            }
          }
          const workdir = mkdtempSync(path.join(tmpdir(), 'matrix-action-'));
          const shell: ShellContext = {
            stateDir: inject('stackStateDir'),
            cwd: workdir,
            variables: { TARGET_URL: endpoints.target.url, SOURCE_URL: endpoints.source.url, CONNECT_URL: endpoints.connect.url },
            tools: { psql: pgTools.psql },
            // The runbook's topic names (either source) are this pipeline's topic for the table.
            word: (w) => (/^warehouse\.(warehouse_source\.dbo|public)\.\w+$/.test(w) ? pipeline.topicOf(table) : w),
          };
          try {
            for (const line of commands) {
              const result = await runShellLine(shell, line);
              await attachText(`$ ${line}`, `exit ${result.code}\n${result.stdout}\n${result.stderr}`.trim());
              if (result.code !== 0) problems.push(`\`${line}\` exited ${result.code}: ${result.stderr.trim().split('\n')[0]}`);
            }
          } finally {
            rmSync(workdir, { recursive: true, force: true });
          }
          // The pipeline flows again: a new write reaches the replica.
          const flowing = await awaitDrained(target, table, KEY, await workload.mark());
          const after = await connect.getConnectorStatus(pipeline.sinkName);
          await attachJson(`sink status after the Action Required (${summariseState(after)})`, after);
          if (!flowing.drained) problems.push(`a write after the Action Required did not reach the replica within ${CONVERGE_LIMIT_MS / 1000} s (sink ${summariseState(after)})`);
          const closed = await closeOutWorkload(workload, source, target, { table, key: [KEY] });
          if (!closed.converged) problems.push(`the replica does not match the source: ${JSON.stringify(closed.report.tables[0]?.diffCounts)}`);
          if (!closed.verdict.pass) problems.push(`acknowledged writes lost or wrong: ${JSON.stringify({ lost: closed.verdict.lost.slice(0, 10), unexpected: closed.verdict.unexpected.slice(0, 10), stale: closed.verdict.stale.slice(0, 5) })}`);
          if (closed.history.writes.length <= WRITES_BEFORE_CHANGE) problems.push(`only ${closed.history.writes.length} acknowledged writes: the workload did not run through the change`);
          const done = commands.length ? `ran ${commands.length} command(s) of the row${sinkFailed ? ' on a FAILED sink' : ' after the drain'}` : `no command in the row${sinkFailed ? '' : ' (none needed: the sink kept RUNNING)'}`;
          const verdict = checkClaim(
            { ...row.downtimeClaim(), text: `${row.changeType}: Action Required = ${row.actionRequired}` },
            problems.length === 0,
            problems.length ? `${done}; ${problems.join('; ')}` : `${done}; the replica matches the source and all ${closed.verdict.keysChecked} acknowledged keys are in it`,
          );
          await attachJson('claim verdict', verdict);
          verdicts.push(verdict);
        });

        const failed = verdicts.filter((v) => !v.holds);
        expect(failed.map((v) => v.message), 'matrix claims the stack contradicts').toEqual([]);
      });
    }
  });
});
