#!/usr/bin/env node
// The CLI is TypeScript; tsx compiles it on load so users need no build step.
import { register } from 'tsx/esm/api';

register();
await import('../harness/cli/main.ts');
