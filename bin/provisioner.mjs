#!/usr/bin/env node
// Entry point of the `provisioner` CLI: runs the TypeScript sources through tsx, so there is
// no build step between a checkout and a working command.
import { register } from 'tsx/esm/api';

// The SDK warns on Node 20 that releases after January 2027 will need Node 22; the lock file pins
// a release that supports this machine, so the notice would only clutter every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../provisioner/src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
