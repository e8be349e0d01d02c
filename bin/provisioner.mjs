#!/usr/bin/env node
// Entry point of the `provisioner` CLI: runs the TypeScript sources through tsx, so there is
// no build step between a checkout and a working command.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../provisioner/src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
