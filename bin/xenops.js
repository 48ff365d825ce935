#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx xenops` and `npm run demo` need no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
