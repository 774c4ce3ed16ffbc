/**
 * Ordered, resumable steps, each recorded (started, then ok or failed) through the caller's `record` callback, each
 * within its own limit. A step already completed (named in `completed`, e.g. from the migration's event log) is
 * skipped and recorded as such, so a cutover interrupted after step 3 resumes at step 4.
 */
export interface StepEvent {
  step: string;
  outcome: 'started' | 'ok' | 'failed';
  detail?: Record<string, unknown>;
}

export type Recorder = (event: StepEvent) => void | Promise<void>;

export interface Step {
  name: string;
  limitMs: number;
  run(): Promise<Record<string, unknown> | void>;
}

export interface StepResult {
  name: string;
  seconds: number;
  detail: Record<string, unknown>;
  skipped?: 'completed earlier' | 'not in this procedure';
}

export interface StepsOutcome {
  ok: boolean;
  steps: StepResult[];
  failed?: { name: string; error: string };
}

export class StepLimitError extends Error {
  constructor(readonly step: string, readonly limitMs: number) {
    super(`step ${step} did not finish within its limit of ${(limitMs / 1000).toFixed(0)} s`);
    this.name = 'StepLimitError';
  }
}

/** The body, or a StepLimitError once limitMs has passed (the body's own waits have limits too). */
export async function withinLimit<T>(name: string, limitMs: number, body: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([body(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new StepLimitError(name, limitMs)), limitMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs each step's body inside the caller's wrapper (a scenario's runbookStep, a CLI's progress line). */
export type StepWrapper = (step: string, body: () => Promise<Record<string, unknown> | void>) => Promise<Record<string, unknown> | void>;

export async function runSteps(steps: Step[], options: { record: Recorder; completed?: readonly string[]; skip?: readonly string[]; around?: StepWrapper }): Promise<StepsOutcome> {
  const results: StepResult[] = [];
  for (const step of steps) {
    if (options.completed?.includes(step.name) || options.skip?.includes(step.name)) {
      const skipped = options.completed?.includes(step.name) ? 'completed earlier' : 'not in this procedure';
      results.push({ name: step.name, seconds: 0, detail: {}, skipped });
      await options.record({ step: step.name, outcome: 'ok', detail: { skipped } });
      continue;
    }
    await options.record({ step: step.name, outcome: 'started', detail: { limitSeconds: step.limitMs / 1000 } });
    const started = Date.now();
    try {
      const body = () => withinLimit(step.name, step.limitMs, () => step.run());
      const detail = (await (options.around ? options.around(step.name, body) : body())) ?? {};
      const seconds = (Date.now() - started) / 1000;
      results.push({ name: step.name, seconds, detail });
      await options.record({ step: step.name, outcome: 'ok', detail: { ...detail, seconds } });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await options.record({ step: step.name, outcome: 'failed', detail: { error: message, seconds: (Date.now() - started) / 1000 } });
      return { ok: false, steps: results, failed: { name: step.name, error: message } };
    }
  }
  return { ok: true, steps: results };
}
