// The run lock at the CLI: `up` and `down` hold it around everything they observe and do
// (`holdRunLock`), and `force-unlock ID` breaks the lock of a run that died holding it.
import { describeError } from '../errors.ts';
import { loadFleet } from '../config/load.ts';
import type { Fleet } from '../model.ts';
import { acquireRunLock, describeLock, forceUnlockRun, notHeldUnder, parseLockTimeout, readRunLock, runLockName, type RunLock } from '../lock/run-lock.ts';
import { UserError } from '../errors.ts';
import type { CommandContext, CommandModule } from './command.ts';

/** The option every locking command takes. */
export const lockTimeoutOption = ['--lock-timeout <duration>', 'wait this long for another run holding the fleet\'s run lock (0: fail at once, naming it)', '0s'] as const;

/**
 * Takes the fleet's run lock for `command` (or says that the fleet has none); `await using` it, so
 * that it is released however the command ends. A lost lock ends the process: `up` and `down` are
 * safe to run again from any point, and going on would act beside the lock's new holder.
 */
export async function holdRunLock(context: CommandContext, fleet: Fleet, command: string, lockTimeout: string): Promise<RunLock | AsyncDisposable> {
  const timeout = parseLockTimeout(lockTimeout);
  if (!fleet.lock) {
    context.io.warn(`warning: ${fleet.source} has no lock: section, so nothing keeps another up or down on fleet ${fleet.fleet} from acting at the same time (see "The run lock" in README.md)`);
    return { [Symbol.asyncDispose]: async () => undefined };
  }
  return acquireRunLock(fleet, command, {
    timeout,
    notify: (line) => context.io.warn(line),
    onLost: (error) => {
      for (const line of describeError(error, context.globals.debug)) context.io.warn(line);
      process.exit(1);
    },
  });
}

export const forceUnlockCommand: CommandModule = (command, context) => {
  command
    .argument('<lock-id>', 'the lock ID, as the run that found the lock held printed it')
    .option('-f, --force', 'break it without asking (needed when not on a terminal)', false)
    .action(async (lockId: string, opts: { force: boolean }) => {
      const ctx = context();
      const fleet = await loadFleet(ctx.globals.config, ctx.env);
      if (!fleet.lock) throw new UserError(`force-unlock: ${fleet.source} has no lock: section, so fleet ${fleet.fleet} has no run lock to break`);
      if (!opts.force && !ctx.io.interactive) throw new UserError('force-unlock: not on a terminal, so nobody can confirm; add --force to break the lock');
      const current = await readRunLock(fleet);
      if (current.lockId !== lockId) throw notHeldUnder(fleet, lockId, current, ctx.now());
      ctx.io.info(`The run lock of fleet ${fleet.fleet} (item ${runLockName(fleet)} of DynamoDB table ${fleet.lock.table} in ${fleet.lock.region}):`);
      for (const line of describeLock(current, ctx.now())) ctx.io.info(line);
      if (
        !opts.force &&
        !(await ctx.io.confirm(
          'Break it? Only do so when that run is gone: a run still holding it stops at its next renewal, but may act until then beside the next one.',
        ))
      ) {
        ctx.io.info('The lock is left as it was.');
        return;
      }
      await forceUnlockRun(fleet, lockId);
      ctx.io.result(`The run lock of fleet ${fleet.fleet} is broken (lock ID ${lockId}); the next up or down takes it.`);
    });
};
