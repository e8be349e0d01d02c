// `provisioner doctor [--json]`: cross-checks the repository (fleet.yaml, jenkins/, the Jenkinsfile,
// the library) and, with JENKINS_URL set, the live controller; prints one report; exit 1 on any problem.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from '../cli/main.ts';
import { ChecksFailed } from '../errors.ts';
import { checkRepository } from './checks.ts';
import { checkController } from './live.ts';
import { readRepository } from './repository.ts';
import { formatReport, toReport } from './report.ts';

// The repository this CLI belongs to, as `provisioner library` also writes into by default.
const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface DoctorOptions {
  json: boolean;
  root?: string;
}

export const doctorCommand: CommandModule = (cli, globals) => {
  cli
    .command('doctor')
    .description(
      'cross-check fleet.yaml, jenkins/casc.yaml, jenkins/plugins.txt, the Jenkinsfile and the library; ' +
        'with JENKINS_URL set, also the live controller. Exit 1 on any problem.',
    )
    .option('--json', 'print the report as JSON', false)
    .option('--root <dir>', 'the repository to check (default: the one this CLI belongs to)')
    .action(async (options: DoctorOptions) => {
      const repo = await readRepository(resolve(options.root ?? repositoryRoot), resolve(globals().config), process.env);
      const checks = checkRepository(repo);
      if (process.env.JENKINS_URL) checks.push(await checkController(repo, process.env));
      const report = toReport(checks);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      // The report is the output; this only sets exit code 1 (with one summary line on stderr).
      if (!report.ok) throw new ChecksFailed(`doctor found ${report.problems} problem${report.problems === 1 ? '' : 's'}`);
    });
};
