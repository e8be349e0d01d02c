#!/usr/bin/env node
// Builds the `provisioner` CLI: provisioner/src bundled by esbuild into provisioner/dist/cli/, which
// bin/provisioner.mjs runs. npm runs it on `npm ci` and `npm install` (the `prepare` script); the
// test suites run it before they start the CLI, when the build is older than its sources.
//
//   node scripts/build.mjs            build
//   node scripts/build.mjs --if-stale build only if a source changed since the last build
//
// One bundle, split per command (each command's module stays loaded only when that command runs),
// so a command reads a few files instead of resolving and loading ~100 TypeScript modules through
// a loader at every start. zod is bundled from its ES build (below). Left outside the bundle, and
// loaded from node_modules as before: the AWS SDK (the adapters load it with require(): see
// provisioner/src/aws/sdk.ts), ssh2 and
// node-ssh (native add-ons, loaded only for SSH pools), @cdktf/hcl2json (reads its .wasm beside
// itself), and the sandbox (its own package, never part of the product).
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'provisioner/dist');
/** Two levels under provisioner/, as the sources are: the modules find provisioner/templates/ at ../../templates from either. */
const out = join(dist, 'cli');
/** What the build was made from, for the staleness check here and in bin/provisioner.mjs. */
const manifest = join(dist, 'build.json');

/** The sources a build read (repository-relative), or undefined when there is no build. */
function builtFrom() {
  try {
    return JSON.parse(readFileSync(manifest, 'utf8')).inputs;
  } catch {
    return undefined;
  }
}

/** Whether a source the last build read changed after it (or there is no build). */
export function stale() {
  const inputs = builtFrom();
  if (!inputs || !existsSync(join(out, 'main.js'))) return true;
  const builtAt = statSync(manifest).mtimeMs;
  return inputs.some((input) => {
    try {
      return statSync(join(root, input)).mtimeMs > builtAt;
    } catch {
      return true;
    }
  });
}

/**
 * provisioner/src/config/zod.ts loads zod's CommonJS build with require(), which is what suits the
 * sources run through tsx (the sandbox). In the bundle zod's ES build is cheaper still: one chunk
 * compiled at once instead of ~95 CommonJS files resolved and wrapped one by one (`plan` of 1,000
 * agents: ~0.05 s of CPU; docs/BENCHMARKS.md).
 */
const zodFromItsEsBuild = {
  name: 'zod-from-its-es-build',
  setup(build) {
    build.onLoad({ filter: /[\\/]provisioner[\\/]src[\\/]config[\\/]zod\.ts$/ }, () => ({ contents: "export { z } from 'zod';\n", loader: 'ts', resolveDir: join(root, 'provisioner/src/config') }));
  },
};

export async function build() {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: 'provisioner/src/cli/main.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.10',
    write: false,
    outdir: out,
    chunkNames: 'chunk-[hash]',
    plugins: [zodFromItsEsBuild],
    external: ['@aws-sdk/*', 'ssh2', 'node-ssh', '@cdktf/hcl2json', '@jenkins-fleet/sandbox', '@jenkins-fleet/sandbox/*'],
    // The CommonJS packages in the bundle (the jenkins client, handlebars, ...) require Node's own
    // modules; an ES module has no `require` of its own to give them.
    banner: { js: "import { createRequire as __bundleCreateRequire } from 'node:module';\nconst require = __bundleCreateRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  });
  // Written beside the old build and swapped in at once, so a CLI starting meanwhile reads one or the other.
  const next = `${out}.next-${process.pid}`;
  rmSync(next, { recursive: true, force: true });
  for (const file of result.outputFiles) {
    const target = join(next, relative(out, file.path));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.contents);
  }
  const old = `${out}.old-${process.pid}`;
  if (existsSync(out)) renameSync(out, old);
  renameSync(next, out);
  rmSync(old, { recursive: true, force: true });
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.includes('node_modules/'));
  writeFileSync(manifest, `${JSON.stringify({ inputs }, null, 1)}\n`);
  return result.outputFiles.length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--if-stale') && !stale()) process.exit(0);
  const files = await build();
  process.stderr.write(`build: provisioner/src -> ${relative(root, out)} (${files} files)\n`);
}
