/** Collects row differences up to a cap per list while always counting the totals. */
import type { DifferingRow, RowKey } from './reconcile-types.js';

export class DiffCollector {
  readonly missingInTarget: RowKey[] = [];
  readonly extraInTarget: RowKey[] = [];
  readonly differing: DifferingRow[] = [];
  readonly counts = { missingInTarget: 0, extraInTarget: 0, differing: 0 };
  constructor(private readonly cap: number) {}

  room(list: 'missingInTarget' | 'extraInTarget' | 'differing'): number {
    return Math.max(0, this.cap - this[list].length);
  }
  addMissing(key: RowKey): void {
    this.counts.missingInTarget++;
    if (this.missingInTarget.length < this.cap) this.missingInTarget.push(key);
  }
  addExtra(key: RowKey): void {
    this.counts.extraInTarget++;
    if (this.extraInTarget.length < this.cap) this.extraInTarget.push(key);
  }
  addDiffering(row: DifferingRow): void {
    this.counts.differing++;
    if (this.differing.length < this.cap) this.differing.push(row);
  }
  /** Rows known to differ in bulk (a range present on one side only) beyond those listed. */
  countOnly(list: 'missingInTarget' | 'extraInTarget', n: number): void {
    this.counts[list] += n;
  }
  get truncated(): boolean {
    const c = this.counts;
    return c.missingInTarget > this.missingInTarget.length || c.extraInTarget > this.extraInTarget.length || c.differing > this.differing.length;
  }
  get empty(): boolean {
    const c = this.counts;
    return c.missingInTarget + c.extraInTarget + c.differing === 0;
  }
}
