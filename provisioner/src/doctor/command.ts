// `provisioner doctor [--json]`: cross-checks the repository (fleet.yaml, jenkins/, the Jenkinsfile,
// the library) and, with JENKINS_URL set, the live controller; prints one report; exit 1 on any problem.
import { resolve } from 'node:path';
import type { CommandModule } from '../cli/command.ts';
import { ChecksFailed } from '../errors.ts';
import { checkRepository } from './checks.ts';
import { checkController } from './live.ts';
import { readRepository } from './repository.ts';
import { formatReport, toReport } from './report.ts';

interface DoctorOptions {
  json: boolean;
  root?: string;
}

export const doctorCommand: CommandModule = (command, context) => {
  command
    .description(
      'cross-check fleet.yaml, jenkins/casc.yaml, jenkins/plugins.txt, the Jenkinsfile and the library; ' +
        'with JENKINS_URL set, also the live controller. Exit 1 on any problem.',
    )
    .option('--json', 'print the report as JSON', false)
    .option('--root <dir>', 'the repository to check (default: the current directory)')
    .action(async (options: DoctorOptions) => {
      const { io, env, cwd, globals } = context(options);
      const repo = await readRepository(resolve(cwd, options.root ?? '.'), resolve(cwd, globals.config), env);
      const checks = checkRepository(repo);
      if (env.JENKINS_URL) checks.push(await checkController(repo, env));
      else checks.push({ name: 'controller', title: 'the live controller', problems: [], notes: [], skipped: 'JENKINS_URL is not set, so only the files were checked' });
      const report = toReport(checks);
      io.result(formatReport(report).replace(/\n$/, ''), report);
      // The report is the output; this only sets exit code 1 (with one summary line on stderr).
      if (!report.ok) throw new ChecksFailed(`doctor found ${report.problems} problem${report.problems === 1 ? '' : 's'}`);
    });
};
