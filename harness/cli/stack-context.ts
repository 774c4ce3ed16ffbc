/** What commands that act on the running stack share: its endpoints and a Connect client. */
import { requireRunningStack } from '../env/state.js';
import type { StackEndpoints } from '../env/stack.js';
import { ConnectClient } from '../pipeline/connect-client.js';

export function runningStack(): { endpoints: StackEndpoints; connect: ConnectClient } {
  const endpoints = requireRunningStack();
  return { endpoints, connect: new ConnectClient(endpoints.connect.url) };
}
