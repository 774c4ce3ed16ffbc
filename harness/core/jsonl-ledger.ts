/**
 * An append-only JSON-lines file that test workers write and the main process reads after a run (the findings
 * ledger, the sections-ran ledger). An environment variable moves it, so two suites can run side by side; the
 * default lives under reports/. Appends of one short line are atomic on a local file system.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export interface JsonlLedger<T> {
  path(): string;
  clear(file?: string): void;
  append(entry: T, file?: string): void;
  /** undefined when the file does not exist (nothing was ever written). */
  read(file?: string): T[] | undefined;
}

export function jsonlLedger<T>(envVariable: string, defaultName: string, parseLine: (line: string) => T = (line) => JSON.parse(line) as T): JsonlLedger<T> {
  const ledgerPath = () => path.resolve(process.env[envVariable] ?? path.join('reports', defaultName));
  return {
    path: ledgerPath,
    clear: (file = ledgerPath()) => rmSync(file, { force: true }),
    append: (entry, file = ledgerPath()) => {
      mkdirSync(path.dirname(file), { recursive: true });
      appendFileSync(file, JSON.stringify(entry) + '\n');
    },
    read: (file = ledgerPath()) =>
      existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter((line) => line.trim() !== '')
            .map(parseLine)
        : undefined,
  };
}
