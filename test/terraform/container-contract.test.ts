// The two READMEs and the rendered task agree on the container contract: terraform/README.md's
// table "What each task runs" names exactly the command, plain variables and secrets of each
// container of plans/app-region.writer-task.json (which the offline plan compares with what
// modules/app-region renders, and test/docker runs against the image), and app/README.md documents
// every variable and command the task gives the image.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const repoRoot = new URL('../..', import.meta.url).pathname;
const read = (path: string) => readFileSync(`${repoRoot}${path}`, 'utf8');

interface Container {
  command: string[] | null;
  environment: Record<string, string>;
  secrets: Record<string, string>;
}
const task = JSON.parse(read('test/terraform/provider/plans/app-region.writer-task.json')) as Record<string, Container>;

/** The cells of terraform/README.md's contract table row for `name`. */
function row(name: string): string[] {
  const readme = read('terraform/README.md');
  const section = readme.slice(readme.indexOf('### What each task runs'));
  const line = section.split('\n').find((l) => l.startsWith(`| \`${name}\``));
  if (!line) throw new Error(`terraform/README.md has no row for the container ${name} under "What each task runs"`);
  return line.split(' | ').map((cell) => cell.replace(/^\| ?| ?\|$/g, ''));
}

/** The variable names a cell names in backticks (`NAME` or `NAME=value`). */
const names = (cell: string) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)(?:=[^`]*)?`/g)].map((m) => m[1]).sort();

describe('the container contract', () => {
  it.each(Object.keys(task))('terraform/README.md names exactly the command, variables and secrets of %s', (name) => {
    const [, command, environment, secrets] = row(name);
    const container = task[name]!;
    if (container.command) expect(command).toContain(`\`${container.command.join(' ')}\``);
    else expect(command).toMatch(/image's own/);
    expect(names(environment!)).toEqual(Object.keys(container.environment).sort());
    expect(names(secrets!)).toEqual(Object.keys(container.secrets).sort());
  });

  it('app/README.md documents every variable and command the task gives the image', () => {
    const readme = read('app/README.md');
    const contract = readme.slice(readme.indexOf("## The container's contract"), readme.indexOf('## The image'));
    for (const container of Object.values(task)) {
      for (const variable of [...Object.keys(container.environment), ...Object.keys(container.secrets)]) {
        expect(contract, `app/README.md's contract does not name ${variable}`).toContain(`\`${variable}`);
      }
      if (container.command) expect(contract).toContain(`\`${container.command.join(' ')}\``);
    }
    // The ports and health endpoints the load balancer and Route 53 use.
    expect(contract).toMatch(/\| port \| 8000/);
    expect(contract).toContain('`GET /health/live`');
    expect(contract).toContain('`GET /health`');
  });
});
