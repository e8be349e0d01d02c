// `provisioner sandbox` belongs to a package of its own, @jenkins-fleet/sandbox (provisioner/sandbox/
// in the repository): the stand-ins and what only they need (a WebSocket server, an AGPL-licensed
// IAM evaluator) are no part of the product. The CLI hands the command to that package where it
// is installed (a checkout after `npm ci`) and says what is missing where it is not.
import type { CommandModule } from './command.ts';
import { UserError } from '../errors.ts';

export const sandboxPackage = '@jenkins-fleet/sandbox';

/** The package's command module, or one that explains, for any arguments, that the package is missing. */
export async function loadSandboxCommand(load: () => Promise<{ sandboxCommand: CommandModule }> = () => import('@jenkins-fleet/sandbox/command')): Promise<CommandModule> {
  try {
    return (await load()).sandboxCommand;
  } catch (err) {
    if (!isMissingPackage(err)) throw err;
    return (command) => {
      command
        .allowUnknownOption()
        .allowExcessArguments()
        .helpOption(false)
        .action(() => {
          throw new UserError(`\`provisioner sandbox\` is in the package ${sandboxPackage}, which is not installed here: it comes with the jenkins-fleet repository (provisioner/sandbox/), where \`npm ci\` installs it; there it is also the command \`provisioner-sandbox\``);
        });
    };
  }
}

/** The package itself (not one of its own dependencies) cannot be found: Node names the package, vitest's loader the subpath. */
function isMissingPackage(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(`Cannot find package '${sandboxPackage}`) && /^(\/[^']*)?'/.test(err.message.split(`'${sandboxPackage}`)[1] ?? '');
}
