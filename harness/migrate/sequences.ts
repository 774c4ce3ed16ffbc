/**
 * Carrying sequences over: logical decoding replicates rows, not sequence positions, so a copied schema keeps its
 * sequences at their start and the first insert with a DEFAULT key collides with a replicated row. Each sequence of
 * `from` with a value is set on `to` to the higher of the two positions (never backwards: after a cutover the
 * target's sequences are ahead, and a rollback carries them back).
 */
import type { SqlSession } from '../verify/reconcile/index.js';

export interface CarriedSequence {
  sequence: string;
  from: string;
  /** The destination's position before (null: never used) and after. */
  before: string | null;
  after: string;
}

const qualified = (schema: string, name: string) => `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"`;

export async function carrySequences(from: SqlSession, to: SqlSession): Promise<CarriedSequence[]> {
  const sequences = await from.query(`SELECT schemaname, sequencename, last_value::text AS last_value FROM pg_sequences WHERE last_value IS NOT NULL ORDER BY 1, 2`);
  const carried: CarriedSequence[] = [];
  for (const s of sequences) {
    const name = qualified(s.schemaname!, s.sequencename!);
    const [current] = await to.query(`SELECT last_value::text AS last_value FROM pg_sequences WHERE schemaname = $1 AND sequencename = $2`, [s.schemaname!, s.sequencename!]);
    if (!current) continue; // not on the destination: nothing there draws from it
    const value = current.last_value !== null && BigInt(current.last_value) > BigInt(s.last_value!) ? current.last_value : s.last_value!;
    const [set] = await to.query(`SELECT setval($1::regclass, $2::bigint, true)::text AS v`, [name, value]);
    carried.push({ sequence: `${s.schemaname}.${s.sequencename}`, from: s.last_value!, before: current.last_value, after: set!.v! });
  }
  return carried;
}
