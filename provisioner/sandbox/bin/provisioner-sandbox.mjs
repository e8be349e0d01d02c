#!/usr/bin/env node
// Entry point of `provisioner-sandbox` (the same command as `provisioner sandbox`): runs the
// TypeScript sources through tsx, as the provisioner's own entry point does.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
