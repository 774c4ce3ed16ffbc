/**
 * Kafka Connect REST client. Method names are the REST verbs; every mutating call waits, within a
 * stated limit, until the worker reports the state the call asked for. Errors carry the response body.
 */
import { pollUntil } from '../core/poll.js';

export type ConnectorStateName = 'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'UNASSIGNED' | 'RESTARTING';
export type ConnectorConfig = Record<string, string>;

export interface ConnectorStatus {
  name: string;
  connector: { state: ConnectorStateName; worker_id: string; trace?: string };
  tasks: { id: number; state: ConnectorStateName; worker_id: string; trace?: string }[];
  type: 'source' | 'sink';
}

export interface ValidationResult {
  name: string;
  error_count: number;
  configs: { definition?: { name: string }; value: { name: string; value: string | null; errors: string[] } }[];
}

export interface OffsetsResponse {
  offsets: { partition: Record<string, unknown>; offset: Record<string, unknown> | null }[];
}

/** After a restart request the worker may report the old FAILED state for a moment before RESTARTING. */
const RESTART_GRACE_MS = 5_000;

export class ConnectError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`Kafka Connect ${method} ${path} answered ${status}: ${body.slice(0, 500)}`);
    this.name = 'ConnectError';
  }
}

export interface ConnectClientOptions {
  /** How long a mutating call waits for the observed state (default 60 s). */
  stateLimitMs?: number;
  /** One HTTP request's limit (default 30 s; Connect may block a request during a rebalance). */
  requestLimitMs?: number;
}

/** RUNNING means the connector and every task run; a connector with no tasks yet is not RUNNING. */
export function summariseState(status: ConnectorStatus): ConnectorStateName {
  const states = [status.connector.state, ...status.tasks.map((t) => t.state)];
  if (states.includes('FAILED')) return 'FAILED';
  if (status.connector.state === 'RUNNING' && status.tasks.length === 0) return 'UNASSIGNED';
  if (states.every((s) => s === status.connector.state)) return status.connector.state;
  return states.find((s) => s !== 'RUNNING') ?? 'RUNNING';
}

/** The properties of `patch` that `config` does not show yet (name=value seen), empty once the patch took effect. */
export function unappliedProperties(config: ConnectorConfig, patch: ConnectorConfig): string[] {
  return Object.entries(patch)
    .filter(([key, value]) => config[key] !== value)
    .map(([key]) => `${key}=${config[key] ?? '(unset)'}`);
}

function firstTrace(status: ConnectorStatus): string {
  const trace = status.connector.trace ?? status.tasks.find((t) => t.trace)?.trace ?? '';
  return trace.split('\n').slice(0, 2).join(' ').slice(0, 400);
}

export class ConnectClient {
  readonly stateLimitMs: number;
  private readonly requestLimitMs: number;

  constructor(
    readonly url: string,
    options: ConnectClientOptions = {},
  ) {
    this.stateLimitMs = options.stateLimitMs ?? 60_000;
    this.requestLimitMs = options.requestLimitMs ?? 30_000;
  }

  private async request<T>(method: string, path: string, body?: unknown, okStatuses: number[] = []): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.requestLimitMs),
    });
    const text = await response.text();
    if (!response.ok && !okStatuses.includes(response.status)) throw new ConnectError(method, path, response.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // ---- reads --------------------------------------------------------------------------------

  getConnectors(): Promise<string[]> {
    return this.request('GET', '/connectors');
  }

  getConnectorConfig(name: string): Promise<ConnectorConfig> {
    return this.request('GET', `/connectors/${encodeURIComponent(name)}/config`);
  }

  getConnectorStatus(name: string): Promise<ConnectorStatus> {
    return this.request('GET', `/connectors/${encodeURIComponent(name)}/status`);
  }

  getOffsets(name: string): Promise<OffsetsResponse> {
    return this.request('GET', `/connectors/${encodeURIComponent(name)}/offsets`);
  }

  getConnectorPlugins(): Promise<{ class: string; type: string; version: string }[]> {
    return this.request('GET', '/connector-plugins?connectorsOnly=true');
  }

  /** PUT /connector-plugins/{class}/config/validate — the worker's own check of a config. */
  validateConfig(connectorClass: string, config: ConnectorConfig): Promise<ValidationResult> {
    const plugin = connectorClass.split('.').pop() ?? connectorClass;
    return this.request('PUT', `/connector-plugins/${encodeURIComponent(plugin)}/config/validate`, { 'connector.class': connectorClass, ...config });
  }

  // ---- mutations (each waits for the state it asked for) -------------------------------------

  /** PUT /connectors/{name}/config: creates or updates, then waits until it runs again. */
  async putConnectorConfig(name: string, config: ConnectorConfig, expect: ConnectorStateName | ConnectorStateName[] = 'RUNNING'): Promise<ConnectorStatus> {
    await this.request('PUT', `/connectors/${encodeURIComponent(name)}/config`, config);
    return this.awaitConnectorState(name, expect);
  }

  /** POST /connectors: creates, then waits until it runs. */
  async postConnector(name: string, config: ConnectorConfig, expect: ConnectorStateName = 'RUNNING'): Promise<ConnectorStatus> {
    await this.request('POST', '/connectors', { name, config });
    return this.awaitConnectorState(name, expect);
  }

  /**
   * Pauses; a task that is FAILED stays FAILED (pausing does not touch it), the rest must reach PAUSED.
   * A task blocked inside a write (on a lock, say) pauses only once the write returns: with
   * waitForTasks false the call returns when the connector itself is PAUSED.
   */
  async pauseConnector(name: string, options: { waitForTasks?: boolean } = {}): Promise<ConnectorStatus> {
    const waitForTasks = options.waitForTasks ?? true;
    await this.request('PUT', `/connectors/${encodeURIComponent(name)}/pause`);
    return pollUntil({ what: `connector ${name}${waitForTasks ? ' and its tasks' : ''} to be PAUSED`, limitMs: this.stateLimitMs, intervalMs: 250 }, async () => {
      const status = await this.getConnectorStatus(name);
      const tasksPaused = status.tasks.every((t) => t.state === 'PAUSED' || t.state === 'FAILED');
      const paused = status.connector.state === 'PAUSED' && (tasksPaused || !waitForTasks);
      return { done: paused, seen: `connector ${status.connector.state}, tasks ${status.tasks.map((t) => t.state).join(',') || 'none'}`, value: status };
    });
  }

  /**
   * PUT /connectors/{name}/resume. Resuming does not revive a FAILED task: with `expect` 'FAILED' the call
   * waits until the connector itself runs again while a task stays FAILED (a restart is then the remedy).
   */
  async resumeConnector(name: string, expect: 'RUNNING' | 'FAILED' = 'RUNNING'): Promise<ConnectorStatus> {
    await this.request('PUT', `/connectors/${encodeURIComponent(name)}/resume`);
    if (expect === 'RUNNING') return this.awaitConnectorState(name, 'RUNNING');
    return pollUntil({ what: `connector ${name} RUNNING with a task still FAILED`, limitMs: this.stateLimitMs, intervalMs: 250 }, async () => {
      const status = await this.getConnectorStatus(name);
      return { done: status.connector.state === 'RUNNING' && summariseState(status) === 'FAILED', seen: `connector ${status.connector.state}, tasks ${status.tasks.map((t) => t.state).join(',') || 'none'}`, value: status };
    });
  }

  /**
   * PATCH /connectors/{name}/config: changes only the given properties (every other one, secrets included,
   * stays), then waits until the worker's config shows them and the connector is `expect` (an update keeps
   * a paused connector PAUSED). Fails fast on FAILED unless FAILED is what is expected.
   */
  async patchConnectorConfig(name: string, patch: ConnectorConfig, expect: ConnectorStateName = 'RUNNING'): Promise<ConnectorStatus> {
    await this.request('PATCH', `/connectors/${encodeURIComponent(name)}/config`, patch);
    return pollUntil({ what: `connector ${name} to show ${JSON.stringify(patch)} and be ${expect}`, limitMs: this.stateLimitMs, intervalMs: 250 }, async () => {
      const [config, status] = await Promise.all([this.getConnectorConfig(name), this.getConnectorStatus(name)]);
      const unapplied = unappliedProperties(config, patch);
      const state = summariseState(status);
      const abort = state === 'FAILED' && expect !== 'FAILED' ? new ConnectError('PATCH', `/connectors/${name}/config`, 200, `connector ${name} FAILED after the update: ${firstTrace(status)}`) : undefined;
      return { done: unapplied.length === 0 && state === expect, abort, seen: `${state}; ${unapplied.length ? `not yet applied: ${unapplied.join(', ')}` : 'config applied'}`, value: status };
    });
  }

  /** PUT /connectors/{name}/stop: tasks shut down, config kept; needed before offsets can be altered. */
  async stopConnector(name: string): Promise<ConnectorStatus> {
    await this.request('PUT', `/connectors/${encodeURIComponent(name)}/stop`);
    // A stopped connector has no tasks: a FAILED task is simply gone once the stop has taken effect.
    return pollUntil({ what: `connector ${name} to be STOPPED`, limitMs: this.stateLimitMs, intervalMs: 250 }, async () => {
      const status = await this.getConnectorStatus(name);
      return { done: status.connector.state === 'STOPPED', seen: `connector ${status.connector.state}, tasks ${status.tasks.map((t) => t.state).join(',') || 'none'}`, value: status };
    });
  }

  /**
   * POST /connectors/{name}/restart?includeTasks=&onlyFailed= — Connect never restarts a FAILED task by itself.
   * `expect` 'FAILED': a restart that is known to leave a FAILED task as it is (the connector only).
   */
  async restartConnector(name: string, options: { includeTasks?: boolean; onlyFailed?: boolean; expect?: ConnectorStateName } = {}): Promise<ConnectorStatus> {
    const query = `includeTasks=${options.includeTasks ?? false}&onlyFailed=${options.onlyFailed ?? false}`;
    await this.request('POST', `/connectors/${encodeURIComponent(name)}/restart?${query}`, undefined, [202, 204]);
    return this.awaitConnectorState(name, options.expect ?? 'RUNNING', this.stateLimitMs, RESTART_GRACE_MS);
  }

  async restartTask(name: string, task: number): Promise<ConnectorStatus> {
    await this.request('POST', `/connectors/${encodeURIComponent(name)}/tasks/${task}/restart`);
    return this.awaitConnectorState(name, 'RUNNING', this.stateLimitMs, RESTART_GRACE_MS);
  }

  /** DELETE /connectors/{name}: waits until the worker no longer lists it. */
  async deleteConnector(name: string): Promise<void> {
    await this.request('DELETE', `/connectors/${encodeURIComponent(name)}`, undefined, [404]);
    await pollUntil({ what: `connector ${name} to be deleted`, limitMs: this.stateLimitMs }, async () => {
      const names = await this.getConnectors();
      return { done: !names.includes(name), seen: `still listed among ${names.join(', ')}` };
    });
  }

  /** PATCH /connectors/{name}/offsets (connector must be STOPPED). For a sink: [{partition:{kafka_topic,kafka_partition},offset:{kafka_offset}}]. */
  async patchOffsets(name: string, offsets: OffsetsResponse['offsets']): Promise<OffsetsResponse> {
    await this.request('PATCH', `/connectors/${encodeURIComponent(name)}/offsets`, { offsets });
    return this.getOffsets(name);
  }

  /** DELETE /connectors/{name}/offsets (connector must be STOPPED): a sink then starts from its consumer's auto.offset.reset. */
  async deleteOffsets(name: string): Promise<void> {
    await this.request('DELETE', `/connectors/${encodeURIComponent(name)}/offsets`);
  }

  // ---- waits --------------------------------------------------------------------------------

  /**
   * Polls status until the summarised state is `expected`. Waiting for another state fails fast on
   * FAILED, with the task's trace, rather than waiting out the limit; after a restart the old FAILED
   * status may still show for a moment, so FAILED ends the wait only once `failedGraceMs` has passed.
   */
  async awaitConnectorState(name: string, expected: ConnectorStateName | ConnectorStateName[], limitMs = this.stateLimitMs, failedGraceMs = 0): Promise<ConnectorStatus> {
    const started = Date.now();
    // Several states: any of them ends the wait (a control run's sink may be RUNNING or already FAILED).
    const states = Array.isArray(expected) ? expected : [expected];
    const wanted = states.join(' or ');
    return pollUntil({ what: `connector ${name} to be ${wanted}`, limitMs, intervalMs: 250 }, async () => {
      let status: ConnectorStatus;
      try {
        status = await this.getConnectorStatus(name);
      } catch (error) {
        if (error instanceof ConnectError && error.status === 404) return { done: false, seen: 'not found (404)' };
        throw error;
      }
      const state = summariseState(status);
      const abort =
        state === 'FAILED' && !states.includes('FAILED') && Date.now() - started >= failedGraceMs
          ? new ConnectError('GET', `/connectors/${name}/status`, 200, `connector ${name} FAILED while waiting for ${wanted}: ${firstTrace(status)}`)
          : undefined;
      return { done: states.includes(state), abort, seen: `${state} (connector ${status.connector.state}, tasks ${status.tasks.map((t) => t.state).join(',') || 'none'})`, value: status };
    });
  }
}
