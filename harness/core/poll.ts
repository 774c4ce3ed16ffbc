/**
 * The one way the harness waits: poll a probe until it reports done, within a stated limit.
 * A timeout says what it waited for, what it last saw, and for how long.
 */
export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly lastSeen: string,
    readonly waitedMs: number,
  ) {
    super(`waited ${(waitedMs / 1000).toFixed(1)}s for ${what}; last saw: ${lastSeen}`);
    this.name = 'WaitTimeoutError';
  }
}

export interface Observation<T> {
  done: boolean;
  /** What was observed, for the timeout message (keep it short). */
  seen: string;
  value?: T;
  /** Set when what was seen makes further waiting pointless (e.g. FAILED while waiting for RUNNING). */
  abort?: Error;
}

export interface PollOptions {
  what: string;
  limitMs: number;
  intervalMs?: number;
}

export async function pollUntil<T>(options: PollOptions, probe: () => Promise<Observation<T>>): Promise<T> {
  const started = Date.now();
  const interval = options.intervalMs ?? 200;
  let lastSeen = 'nothing yet';
  for (;;) {
    let observation: Observation<T> | undefined;
    try {
      observation = await probe();
    } catch (error) {
      lastSeen = error instanceof Error ? error.message.split('\n')[0] : String(error);
    }
    if (observation?.abort) throw observation.abort;
    if (observation?.done) return observation.value as T;
    if (observation) lastSeen = observation.seen;
    const elapsed = Date.now() - started;
    if (elapsed >= options.limitMs) throw new WaitTimeoutError(options.what, lastSeen, elapsed);
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, options.limitMs - elapsed)));
  }
}
