import path from 'node:path';
import type { Runtime } from '../runtime/provision.js';
import type { LaunchSpec } from './process-supervisor.js';

export function prepareToxiproxy(runtime: Runtime, dataDir: string, apiPort: number): LaunchSpec {
  return {
    command: runtime.toxiproxyServer,
    args: ['-host', '127.0.0.1', '-port', String(apiPort)],
    cwd: dataDir,
    logFile: path.join(dataDir, 'toxiproxy.log'),
    healthAddress: `127.0.0.1:${apiPort}`,
  };
}
