// `provisioner init --outputs FILE|- [--outputs FILE] [--from TEMPLATE] [--force]`: writes the fleet
// file (--config) from `terraform output -json` of terraform/jenkins (and terraform/bootstrap),
// read from files or standard input; it never runs terraform itself.
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CommandModule } from '../cli/command.ts';
import { parseFleet } from '../config/load.ts';
import { UserError } from '../errors.ts';
import { fillFleet, mergeOutputs, parseOutputs } from './outputs.ts';

interface InitOptions {
  outputs: string[];
  deployVar: string[];
  from?: string;
  force: boolean;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

export const initCommand: CommandModule = (command, context) => {
  command
    .requiredOption('--outputs <file>', '`terraform output -json` of terraform/jenkins (and of terraform/bootstrap: repeat the option); - reads standard input', (file: string, all: string[] = []) => [...all, file])
    .option('--deploy-var <name=value>', "an input of the deploy's Terraform no root outputs (backup_copy_vault_arn=...): library.jenkinsfile.vars.NAME; REGION.NAME=VALUE (us-west-2.certificate_arn=...) sets that region's own; repeatable", (pair: string, all: string[] = []) => [...all, pair], [])
    .option('--from <template>', 'the fleet file to start from when --config does not exist yet (default: examples/fleet.yaml)')
    .option('--force', 'overwrite an existing fleet file (its pools and settings are kept; only the values from the outputs change)', false)
    .action(async (options: InitOptions) => {
      const { io, cwd, globals, stdin } = context();
      const target = resolve(cwd, globals.config);
      const exists = existsSync(target);
      if (exists && !options.force) {
        throw new UserError(`${globals.config} exists; \`provisioner init --force\` fills the outputs into it, keeping its pools and settings (or give another --config)`);
      }
      if (options.outputs.filter((f) => f === '-').length > 1) throw new UserError('--outputs: standard input (-) can be read only once');
      const documents = [];
      for (const file of options.outputs) {
        if (file === '-') {
          documents.push(parseOutputs(await readAll(stdin), 'standard input'));
          continue;
        }
        let text: string;
        try {
          text = await readFile(resolve(cwd, file), 'utf8');
        } catch (err) {
          throw new UserError(`--outputs ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); write it with \`terraform -chdir=terraform/jenkins output -json > ${file}\``);
        }
        documents.push(parseOutputs(text, file));
      }
      const outputs = mergeOutputs(documents);

      const template = exists ? target : resolve(cwd, options.from ?? join('examples', 'fleet.yaml'));
      const templateName = exists ? globals.config : (options.from ?? 'examples/fleet.yaml');
      let text: string;
      try {
        text = await readFile(template, 'utf8');
      } catch (err) {
        throw new UserError(`--from ${templateName}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the fleet file to start from`);
      }
      const deployVars: Record<string, string> = {};
      for (const pair of options.deployVar) {
        const match = /^((?:[a-z0-9][a-z0-9-]*\.)?[A-Za-z_][A-Za-z0-9_-]*)=(.+)$/s.exec(pair);
        if (!match) throw new UserError(`--deploy-var: expected NAME=VALUE or REGION.NAME=VALUE (a variable of the deploy's Terraform and its value), found ${JSON.stringify(pair)}`);
        deployVars[match[1] as string] = match[2] as string;
      }
      const result = fillFleet(text, templateName, outputs, deployVars);
      // What is written must load: the strict checks of every other command, before the file changes.
      try {
        parseFleet(result.text, globals.config, {}, target);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        throw new UserError(err.problems.map((problem) => `${problem} (as filled from the outputs; nothing was written)`));
      }

      const partial = `${target}.init-${process.pid}`;
      await writeFile(partial, result.text, { mode: 0o644 });
      await rename(partial, target);

      const lines = [`${exists ? 'Filled' : 'Wrote'} ${globals.config}${exists ? '' : ` from ${templateName}`}:`];
      const width = Math.max(...result.filled.map((f) => f.path.length));
      for (const f of result.filled) lines.push(`  ${f.path.padEnd(width)}  ${Array.isArray(f.value) ? f.value.join(', ') : f.value}  (${f.output})`);
      for (const note of result.left) lines.push(`  note: ${note}`);
      lines.push(`Next: \`npx provisioner --config ${globals.config} library\` renders the Jenkinsfile from it, then \`npx provisioner --config ${globals.config} doctor\` says what is still missing.`);
      io.result(lines.join('\n'));
    });
};
