import { Toxiproxy } from 'toxiproxy-node-client';
import { HOPS, type StackEndpoints } from '../stack.js';

/** One proxy per hop Connect uses; created (again) whenever the Toxiproxy server starts. */
export async function createProxies(endpoints: StackEndpoints): Promise<void> {
  const toxiproxy = new Toxiproxy(endpoints.toxiproxy.url);
  await toxiproxy.populate(HOPS.map((hop) => ({ name: hop, ...endpoints.toxiproxy.proxies[hop], enabled: true })));
}
