/**
 * `runbook-harness lint FILE...`: every code block of a runbook, checked for real — JSON parses and connector
 * configs name installed classes and current properties (and pass the worker's own validation when a stack is
 * up), SQL parses in its dialect, shell parses and calls existing harness commands.
 */
import { loadRunbook } from '../parse.js';
import { at, type BlockContext, type Finding } from './finding.js';
import { lintJson, type ConnectorConfig } from './lint-json.js';
import { lintSql, type TsqlServerCheck } from './lint-sql.js';
import { readStackState } from '../../env/state.js';
import { sqlServerParseErrors, type SqlServerEndpoint } from '../../db/sqlserver.js';
import { jsonHeredocs, lintShell } from './lint-shell.js';
import { lintProperties } from './lint-properties.js';
import { INSTALLED_CONNECTOR_CLASSES } from './connector-rules.js';
import { connectValidator, validateOnWorker, type ConnectValidator } from './connect-validate.js';

const SHELL = new Set(['bash', 'sh', 'shell', 'zsh']);

export interface LintResult {
  findings: Finding[];
  files: string[];
  /** 'connect' when configs went through a running worker's validation, else 'structural'. */
  validation: 'connect' | 'structural';
  connectorConfigs: number;
}

export async function lintFile(file: string, validator?: ConnectValidator, sqlServer?: TsqlServerCheck): Promise<{ findings: Finding[]; connectors: number }> {
  const runbook = loadRunbook(file);
  const findings: Finding[] = [];
  const installed = validator?.installed ?? INSTALLED_CONNECTOR_CLASSES;
  const connectors: ConnectorConfig[] = [];
  // A runbook that tags its SQL (source=…/target) must tag all of it, or the harness cannot pick a block.
  const tagsSql = runbook.sections.some((s) => s.codeBlocks.some((b) => b.lang === 'sql' && b.side));
  for (const section of runbook.sections) {
    for (const block of section.codeBlocks) {
      const ctx: BlockContext = { file: runbook.file, section: section.id, firstLine: block.line + 1 };
      if (block.lang === 'json') {
        const result = lintJson(block.value, ctx, installed);
        findings.push(...result.findings);
        if (result.connector) connectors.push(result.connector);
        if (block.connector && result.connector && result.connector.name !== block.connector) {
          findings.push(at(ctx, -1, 'warning', 'connector-tag', `block is tagged connector=${block.connector} but the config's name is ${result.connector.name ?? '(none)'}`));
        }
      } else if (block.lang === 'sql') {
        if (tagsSql && !block.side) {
          findings.push(at(ctx, -1, 'warning', 'sql-untagged', 'SQL block without source=postgres|sqlserver or target: the harness cannot tell where it runs'));
        }
        findings.push(...(await lintSql(block.value, block.dialect, ctx, sqlServer)));
      } else if (SHELL.has(block.lang)) {
        findings.push(...lintShell(block.value, ctx));
        for (const doc of jsonHeredocs(block.value)) {
          const result = lintJson(doc.body, { ...ctx, firstLine: ctx.firstLine + doc.line }, installed);
          findings.push(...result.findings);
          if (result.connector) connectors.push(result.connector);
        }
      } else if (block.lang === 'properties') {
        findings.push(...lintProperties(block.value, ctx));
      }
    }
  }
  for (const connector of connectors) {
    if (validator) findings.push(...(await validateOnWorker(connector, validator)));
    else {
      findings.push(at(connector.ctx, connector.keyLine('connector.class'), 'info', 'connect-not-validated', 'no stack running: connector config checked structurally only (start one with runbook-harness up for Connect validation)'));
    }
  }
  findings.sort((a, b) => a.line - b.line);
  return { findings, connectors: connectors.length };
}

/** SQL Server's own parser for sqlserver blocks: the one given, else a running stack's SQL Server source. */
function sqlServerCheck(options: { connect?: boolean; sqlServer?: SqlServerEndpoint }): TsqlServerCheck | undefined {
  const stackSource = options.connect === false ? undefined : readStackState()?.endpoints.source;
  const endpoint = options.sqlServer ?? (stackSource?.dialect === 'sqlserver' ? stackSource : undefined);
  return endpoint ? (script) => sqlServerParseErrors(endpoint, script) : undefined;
}

export async function lintFiles(files: string[], options: { connect?: boolean; sqlServer?: SqlServerEndpoint } = {}): Promise<LintResult> {
  const validator = options.connect === false ? undefined : await connectValidator();
  const sqlServer = sqlServerCheck(options);
  const findings: Finding[] = [];
  let connectorConfigs = 0;
  for (const file of files) {
    const result = await lintFile(file, validator, sqlServer);
    findings.push(...result.findings);
    connectorConfigs += result.connectors;
  }
  return { findings, files, validation: validator ? 'connect' : 'structural', connectorConfigs };
}
