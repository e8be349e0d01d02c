// The installed command runs the build in provisioner/dist (scripts/build.mjs), never an old one
// without a word: bin/provisioner.mjs refuses a missing build, and one older than a source it was
// made from. Each case runs a copy of the entry point in a directory of its own.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repository = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'cli-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A checkout with the entry point, one source and a build of it that prints `built`; the build made at `builtAt`, the source changed at `changedAt` (seconds). */
function checkout(name: string, times?: { builtAt: number; changedAt: number }): string {
  const root = join(scratch, name);
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(join(repository, 'bin/provisioner.mjs'), join(root, 'bin/provisioner.mjs'));
  mkdirSync(join(root, 'provisioner/src/cli'), { recursive: true });
  writeFileSync(join(root, 'provisioner/src/cli/main.ts'), '// the source\n');
  if (times) {
    mkdirSync(join(root, 'provisioner/dist/cli'), { recursive: true });
    writeFileSync(join(root, 'provisioner/dist/cli/main.js'), "export async function main() { process.stdout.write('built\\n'); return 0; }\n");
    writeFileSync(join(root, 'provisioner/dist/build.json'), JSON.stringify({ inputs: ['provisioner/src/cli/main.ts'] }));
    utimesSync(join(root, 'provisioner/dist/build.json'), times.builtAt, times.builtAt);
    utimesSync(join(root, 'provisioner/src/cli/main.ts'), times.changedAt, times.changedAt);
  }
  return root;
}

const run = (root: string) => spawnSync(process.execPath, [join(root, 'bin/provisioner.mjs'), '--help'], { encoding: 'utf8' });

describe('the provisioner command and its build', () => {
  it('runs the build when no source it was made from changed since', () => {
    const result = run(checkout('current', { builtAt: 2_000_000_000, changedAt: 1_900_000_000 }));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('built\n');
    expect(result.status).toBe(0);
  });

  it('refuses a build older than one of its sources, naming it and the command that builds (exit 1)', () => {
    const root = checkout('stale', { builtAt: 1_900_000_000, changedAt: 2_000_000_000 });
    const result = run(root);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`error: the CLI's build (provisioner/dist/) is older than provisioner/src/cli/main.ts: run \`npm run build\` in ${root}/ (npm ci does it too)\n`);
  });

  it('says that the CLI is not built where provisioner/dist is missing (exit 1)', () => {
    const root = checkout('unbuilt');
    const result = run(root);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`error: the CLI is not built (provisioner/dist/ is missing): run \`npm run build\` in ${root}/ (npm ci does it too)\n`);
  });

  it('is built from provisioner/src by the package\'s build script, which npm ci runs (prepare)', () => {
    const manifest = JSON.parse(readFileSync(join(repository, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    expect(manifest.bin.provisioner).toBe('bin/provisioner.mjs');
    expect(manifest.scripts.prepare).toBe('node scripts/build.mjs');
    const built = JSON.parse(readFileSync(join(repository, 'provisioner/dist/build.json'), 'utf8')) as { inputs: string[] };
    expect(built.inputs).toContain('provisioner/src/cli/main.ts');
    expect(built.inputs.every((input) => input.startsWith('provisioner/src/'))).toBe(true);
  });
});
