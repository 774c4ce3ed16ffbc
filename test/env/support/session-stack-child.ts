// Child process for the lifecycle test: starts a session-owned stack, reports readiness, then waits
// to be killed with -9 (a runner that dies without teardown).
import { LocalStack } from '../../../harness/env/local/local-stack.js';

const stack = await new LocalStack().withStateDir(process.argv[2]!).start();
process.stdout.write(`ready ${stack.endpoints.connect.url}\n`);
setInterval(() => undefined, 1000);
