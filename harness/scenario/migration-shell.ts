/**
 * The database-migration runbook's bash lines run as typed, on a scenario's own pipeline: bash in a working directory
 * with $SOURCE_URL, $TARGET_URL, $CONNECT_URL (and any further variables a section names) set, `runbook-harness` and the stack's PostgreSQL client tools on
 * PATH. The only rewrite is the runbook's topic prefix (`warehouse.`) to the pipeline's. Each run is attached as
 * evidence and returned; none throws on a non-zero exit (the scenario decides what it means).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TOPIC_PREFIX } from '../env/connector-variables.js';
import { type ConnectorDefinition } from '../pipeline/connector-config.js';
import { type PostgresTools, type StackEndpoints } from '../env/stack.js';
import { attachText } from '../report/step.js';
import { splitSql } from '../runbook/lint/sql-split.js';
import { type SqlSession } from '../verify/reconcile/index.js';
import { type SqlRow } from '../verify/reconcile/sql-session.js';
import { type CommandRun, runRunbookCommand } from './runbook-commands.js';

export interface MigrationShell {
  /** The working directory the runbook's relative paths (backups/, reports/) resolve in. */
  cwd: string;
  run(line: string): Promise<CommandRun>;
  /** Removes the working directory. */
  dispose(): void;
}

export function migrationShell(options: { stateDir: string; endpoints: StackEndpoints; pgTools: PostgresTools; topicPrefix: string; variables?: Record<string, string> }): MigrationShell {
  const cwd = mkdtempSync(path.join(tmpdir(), 'rh-migration-shell-'));
  const env = { SOURCE_URL: options.endpoints.source.url, TARGET_URL: options.endpoints.target.url, CONNECT_URL: options.endpoints.connect.url, ...options.variables };
  return {
    cwd,
    async run(line) {
      const typed = line.replaceAll(`${TOPIC_PREFIX}.`, `${options.topicPrefix}.`);
      const result = await runRunbookCommand(typed, options.pgTools, env, cwd, { harnessStateDir: options.stateDir });
      await attachText(`$ ${typed} (exit ${result.exitCode})`, `${result.stdout}${result.stderr ? `\n--- stderr ---\n${result.stderr}` : ''}`);
      return result;
    },
    dispose: () => rmSync(cwd, { recursive: true, force: true }),
  };
}

/** The command lines of a bash block: blank lines and comments dropped, `\` continuations joined. */
export function commandLines(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** One statement of a runbook SQL block, run and attached with its rows. */
export interface StatementRun {
  sql: string;
  rows: SqlRow[];
}

/** Runs each statement of a runbook SQL block on its own (as psql does with a pasted block), attaching each. */
export async function runStatements(session: SqlSession, block: string, label: string): Promise<StatementRun[]> {
  const out: StatementRun[] = [];
  for (const statement of splitSql(block)) {
    const rows = await session.query(statement.text);
    await attachText(`${label}: ${statement.text.split('\n')[0]}`, `${statement.text}\n--- ${rows.length} rows ---\n${JSON.stringify(rows, null, 2)}`);
    out.push({ sql: statement.text, rows });
  }
  return out;
}

/** pg_size_pretty's text back in bytes ("16 kB" -> 16384), for comparing the runbook's pretty sizes. */
export function prettyBytes(text: string | null | undefined): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*(bytes|kB|MB|GB|TB)$/.exec((text ?? '').trim());
  if (!m) throw new Error(`not a pg_size_pretty value: '${text}'`);
  const unit = { bytes: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[m[2] as 'bytes'];
  return Number(m[1]) * unit;
}

/** A bash block's commands grouped under the `# Title` comment line before them (a dashboard's panels). */
export interface CommandGroup {
  title: string;
  lines: string[];
}

export function commandGroups(block: string): CommandGroup[] {
  const groups: CommandGroup[] = [];
  for (const line of block.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim())) {
    if (!line) continue;
    if (line.startsWith('#')) groups.push({ title: line.replace(/^#\s*/, ''), lines: [] });
    else if (groups.length) groups.at(-1)!.lines.push(line);
    else groups.push({ title: line, lines: [line] });
  }
  return groups.filter((g) => g.lines.length > 0);
}

/** The connector settings that hold secrets, and the placeholder a deploy file keeps instead of the value. */
const SECRET_PLACEHOLDERS: Record<string, string> = { 'database.password': '${SOURCE_PASSWORD}', 'connection.password': '${TARGET_PASSWORD}' };

/**
 * The deploy files Configure Debezium Connector saves (config/<connector>.json, {"name", "config"}), for this
 * pipeline's connectors, secrets as `${...}` placeholders that `connector deploy --file` fills. Returns their paths.
 */
export function writeDeployFiles(shell: MigrationShell, connectors: ConnectorDefinition[]): string[] {
  mkdirSync(path.join(shell.cwd, 'config'), { recursive: true });
  return connectors.map((c) => {
    const config = Object.fromEntries(Object.entries(c.config).map(([k, v]) => [k, SECRET_PLACEHOLDERS[k] ?? v]));
    const file = path.join(shell.cwd, 'config', `${c.name}.json`);
    writeFileSync(file, JSON.stringify({ name: c.name, config }, null, 2));
    return file;
  });
}
