/**
 * A claim is a statement the runbook makes that a scenario can check against the stack. Checking returns a
 * verdict (never throws); `assertClaim` is for scenarios and fails with the file, section, claim and observation.
 */
export interface Claim {
  runbook: string;
  file: string;
  sectionId: string;
  sectionTitle: string;
  line: number;
  /** What the runbook says, in its words, e.g. `ADD COLUMN (nullable): Auto-Handled? (SQL Server source) = No`. */
  text: string;
}

export interface ClaimVerdict {
  claim: Claim;
  holds: boolean;
  observed: string;
  message: string;
}

export function describeClaim(claim: Claim): string {
  return `${claim.file}:${claim.line} [${claim.sectionId}] claims "${claim.text}"`;
}

export function checkClaim(claim: Claim, holds: boolean, observed: string): ClaimVerdict {
  const message = `${describeClaim(claim)}; observed: ${observed}${holds ? '' : ' (the stack contradicts the runbook)'}`;
  return { claim, holds, observed, message };
}

export class ClaimViolation extends Error {
  constructor(readonly verdict: ClaimVerdict) {
    super(verdict.message);
    this.name = 'ClaimViolation';
  }
}

/** Throws ClaimViolation when the observation contradicts the claim. */
export function assertClaim(claim: Claim, holds: boolean, observed: string): ClaimVerdict {
  const verdict = checkClaim(claim, holds, observed);
  if (!verdict.holds) throw new ClaimViolation(verdict);
  return verdict;
}
