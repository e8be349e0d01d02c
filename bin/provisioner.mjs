#!/usr/bin/env node
// Entry point of the `provisioner` CLI: runs the build of provisioner/src in provisioner/dist/cli/
// (scripts/build.mjs, which `npm ci` and `npm install` run), plain JavaScript with no loader at run time.
import module from 'node:module';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Why the build cannot be run as it is (missing, or older than a source it was made from), or undefined. */
function buildProblem() {
  const manifest = `${root}provisioner/dist/build.json`;
  let inputs;
  let builtAt;
  try {
    inputs = JSON.parse(readFileSync(manifest, 'utf8')).inputs;
    builtAt = statSync(manifest).mtimeMs;
  } catch {
    return 'the CLI is not built (provisioner/dist/ is missing)';
  }
  // A checkout edited or updated since the build would otherwise run yesterday's code without a word.
  for (const input of inputs) {
    let changed;
    try {
      changed = statSync(`${root}${input}`).mtimeMs > builtAt;
    } catch {
      changed = false;
    }
    if (changed) return `the CLI's build (provisioner/dist/) is older than ${input}`;
  }
  return undefined;
}

const problem = buildProblem();
if (problem) {
  process.stderr.write(`error: ${problem}: run \`npm run build\` in ${root} (npm ci does it too)\n`);
  process.exit(1);
}

// Node 22.1 and later keep the compiled code of the CLI and its dependencies between runs.
module.enableCompileCache?.();
// The SDK warns on Node 20 that releases after January 2027 will need Node 22; the lock file pins
// a release that supports this machine, so the notice would only clutter every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../provisioner/dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
