// `provisioner sandbox` hands over to the sandbox's own package, and says which package is missing
// where it is not installed (the product installed without the repository's workspace).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSandboxCommand, sandboxPackage } from '../../../provisioner/src/cli/sandbox.ts';
import type { CommandModule } from '../../../provisioner/src/cli/command.ts';
import { describeError, UserError } from '../../../provisioner/src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-sandbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A loader that imports `specifier` from a directory with no node_modules: Node's own "cannot find package". */
async function loaderOutsideTheRepository(specifier: string): Promise<() => Promise<{ sandboxCommand: CommandModule }>> {
  const file = join(dir, `load-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, `export const load = () => import(${JSON.stringify(specifier)});\n`);
  return (await import(pathToFileURL(file).href)).load;
}

async function runWith(module: CommandModule, args: string[]): Promise<unknown> {
  const cli = new Command('provisioner').exitOverride();
  module(cli.command('sandbox'), () => { throw new Error('the context is not needed'); });
  return cli.parseAsync(['sandbox', ...args], { from: 'user' }).then(() => undefined, (err: unknown) => err);
}

describe('provisioner sandbox', () => {
  it('is the sandbox package\'s own command where the package is installed', async () => {
    const { sandboxCommand } = await import('@jenkins-fleet/sandbox/command');
    expect(await loadSandboxCommand()).toBe(sandboxCommand);
  });

  it('names the missing package and where it comes from, whatever the arguments (exit 1 as a user error)', async () => {
    const module = await loadSandboxCommand(await loaderOutsideTheRepository(`${sandboxPackage}/command`));
    for (const args of [[], ['--state', 'x', '--boot-delay', '1s'], ['builds', '--json'], ['--help']]) {
      const err = await runWith(module, args);
      expect(err, args.join(' ')).toBeInstanceOf(UserError);
      expect(describeError(err, false)).toEqual([`error: \`provisioner sandbox\` is in the package ${sandboxPackage}, which is not installed here: it comes with the jenkins-fleet repository (provisioner/sandbox/), where \`npm ci\` installs it; there it is also the command \`provisioner-sandbox\``]);
    }
  });

  it('passes on any other failure to load it (a dependency of the package missing is not the package missing)', async () => {
    await expect(loadSandboxCommand(await loaderOutsideTheRepository('no-such-dependency-of-the-sandbox'))).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
    await expect(loadSandboxCommand(await loaderOutsideTheRepository(`${sandboxPackage}-extras/command`))).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
    await expect(loadSandboxCommand(() => Promise.reject(new TypeError('boom')))).rejects.toThrow('boom');
  });
});
