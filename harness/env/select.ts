/**
 * Chooses the environment: `local` (embedded processes, the default) or `containers` (testcontainers).
 * Callers get a Stack builder or attach to a running one; they never import a provider directly.
 */
import { HarnessError } from '../core/errors.js';
import { LocalStack, StartedLocalStack } from './local/local-stack.js';
import type { EnvironmentName, StartedStack } from './stack.js';
import { readStackState, stateDir } from './state.js';

export function environmentName(flag?: string): EnvironmentName {
  const name = flag ?? process.env.RUNBOOK_HARNESS_ENV ?? 'local';
  if (name !== 'local' && name !== 'containers') {
    throw new HarnessError(`unknown environment '${name}': use --env local (embedded, no Docker) or --env containers (testcontainers, needs Docker)`);
  }
  return name;
}

export async function startStack(options: { env?: string; stateDir?: string; detached?: boolean }): Promise<StartedStack> {
  const env = environmentName(options.env);
  const dir = options.stateDir ?? stateDir();
  if (env === 'containers') throw containersNotYet();
  const stack = new LocalStack().withStateDir(dir);
  return (options.detached ? stack.detached() : stack).start();
}

/** The running stack described by a state file, whichever environment started it. */
export async function attachStack(dir = stateDir()): Promise<StartedStack | undefined> {
  const state = readStackState(dir);
  if (!state) return undefined;
  if (state.endpoints.env === 'containers') throw containersNotYet();
  return new StartedLocalStack(dir);
}

// The testcontainers provider is its own piece of work; until it lands, say so plainly.
function containersNotYet(): HarnessError {
  return new HarnessError('container mode (--env containers) is not implemented yet: use the default local environment (no Docker needed)');
}
