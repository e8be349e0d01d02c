// Renders the shared library (vars/NAME.groovy, vars/NAME.txt) and the root Jenkinsfile from
// the Handlebars templates in provisioner/templates/library/, the fleet's library: section and
// its pools' labels and tools. Pure apart from reading the templates: no file is written here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { groovyComment, groovyGStringText, groovyLiteral, groovyString, groovyWrapped, type GroovyValue } from './groovy.ts';
import { deployments, type Library } from './schema.ts';
import { steps, toolHomes, type Param, type Step } from './steps.ts';
import type { TerraformInputs } from './terraform-inputs.ts';

export const templatesDir = fileURLToPath(new URL('../../templates/library/', import.meta.url));

/** One generated file: its path relative to the repository root, and its text. */
export interface Rendered {
  path: string;
  template: string;
  text: string;
}

interface PoolLike {
  name: string;
  labels: string[];
  tools: readonly string[];
}

function engine(dir: string): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper('groovy', (value: GroovyValue) => groovyLiteral(value));
  // `{{comment a b}}`: `a: b` as wrapped `//` lines (the last argument is Handlebars' options).
  hb.registerHelper('comment', (...args: unknown[]) => groovyComment(args.slice(0, -1).map(String).join(': ')));
  hb.registerHelper('wrapped', (value: string) => groovyWrapped(value));
  // A parameter's documentation as `//` lines under one another, four spaces in (the defaults map).
  hb.registerHelper('docComment', (value: string) => groovyComment(value, 112).split('\n').join('\n    '));
  // noEscape is for Groovy; the help in vars/NAME.txt is HTML, so its text is escaped explicitly.
  hb.registerHelper('html', (value: unknown) =>
    String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
  );
  const partials = join(dir, 'partials');
  for (const file of readdirSync(partials)) {
    if (file.endsWith('.hbs')) hb.registerPartial(file.slice(0, -4), readFileSync(join(partials, file), 'utf8'));
  }
  return hb;
}

// One entry per line after the type, so long patterns keep generated lines short.
function rule(param: Param): string {
  const head = [`type: ${groovyString(param.type)}`];
  if (param.default === null || param.nullable) head.push('nullable: true');
  const lines = [head.join(', ')];
  if (param.pattern) lines.push(`pattern: ${groovyString(param.pattern)}`);
  if (param.keyPattern) lines.push(`keyPattern: ${groovyString(param.keyPattern)}`);
  if (param.expected) lines.push(`expected: ${groovyString(param.expected)}`);
  if (param.valueExpected) lines.push(`valueExpected: ${groovyString(param.valueExpected)}`);
  return `[${lines.join(',\n      ')}]`;
}

function stepContext(step: Step) {
  return {
    ...step,
    params: step.params.map((p) => ({ ...p, literal: groovyLiteral(p.default), rule: rule(p) })),
  };
}

/** Every generated file, in a stable order. Throws UserError when a tool has no pool. */
export function renderLibrary(
  library: Library,
  pools: readonly PoolLike[],
  terraform: TerraformInputs,
  dir = templatesDir,
): Rendered[] {
  const hb = engine(dir);
  const tools = toolHomes(pools, library.pullRequestLabel);
  const compile = (template: string) =>
    hb.compile(readFileSync(join(dir, template), 'utf8'), { noEscape: true, strict: true });
  const files: Rendered[] = [];
  const txt = compile('step.txt.hbs');
  for (const step of steps(library)) {
    const template = `${step.name}.groovy.hbs`;
    const context = { library, tools, step: stepContext(step), tool: tools[step.tool] };
    files.push({ path: `vars/${step.name}.groovy`, template, text: compile(template)(context) });
    files.push({ path: `vars/${step.name}.txt`, template: 'step.txt.hbs', text: txt(context) });
  }
  const appDir = library.jenkinsfile.appDir;
  const deploy = library.jenkinsfile;
  // A pull request pushes no image: its plan names one that does not exist, tagged with its number.
  const pullRequestImage = `${groovyString(`${library.docker.registry}/${library.docker.image}:pr-`)} + env.CHANGE_ID`;
  const entry = (key: string, value: string) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : groovyString(key)}: ${value}`;
  // One entry a line, two spaces deeper than the call's continuation lines (`indent` spaces).
  const mapLiteral = (entries: string[], indent: number) => {
    const inner = ' '.repeat(indent + 2);
    return `[\n${inner}${entries.join(`,\n${inner}`)}\n${' '.repeat(indent)}]`;
  };
  // A long value continues on lines of its own, so generated lines stay under the lint's 120.
  const value = (text: string, indent: number) => (text.length > 60 ? groovyWrapped(text, ' '.repeat(indent + 4), 60) : groovyString(text));
  const entries = (map: Record<string, string>, indent: number) => Object.entries(map).map(([k, v]) => entry(k, value(v, indent)));
  const backendConfig = (settings: Record<string, string>, indent: number) =>
    Object.keys(settings).length > 0 ? mapLiteral(entries(settings, indent), indent) : '';
  const listLiteral = (items: string[], indent: number) =>
    items.length === 0 ? '[]' : `[\n${' '.repeat(indent + 2)}${items.map(groovyString).join(`,\n${' '.repeat(indent + 2)}`)}\n${' '.repeat(indent)}]`;
  const terraformDir = groovyGStringText(deploy.terraformDir);
  const targets = deployments(deploy).map((target, index) => ({
    ...target,
    // The environment variables that carry this target's plan from its stage to the approval and the apply.
    prefix: target.name === null ? 'PLAN' : `PLAN_${target.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`,
    named: target.name !== null,
    nameArgument: target.name === null ? '' : `name: ${groovyString(target.name)}, `,
    planStage: target.name === null ? `Plan ${deploy.terraformDir}` : `Plan ${target.name}`,
    applyStage: target.name === null ? `Apply ${deploy.terraformDir}` : `Apply ${target.name}`,
    // The approver's summary, built up region by region in the order applied.
    summaryStart: index === 0
      ? `env.PLAN_SUMMARY = ${groovyString(`${target.name}: `)} +`
      : `env.PLAN_SUMMARY = env.PLAN_SUMMARY + ${groovyString(`; ${target.name}: `)} +`,
    planText: `${terraformDir}/terraform-plan${target.name === null ? '' : `-${target.name}`}.txt`,
    backendConfig: { pullRequest: backendConfig(target.backendConfig, 14), plan: backendConfig(target.backendConfig, 16), apply: backendConfig(target.backendConfig, 14) },
    deployVars: mapLiteral([...entries(target.vars, 16), entry(deploy.imageVariable, 'env.IMAGE_REFERENCE')], 16),
    pullRequestVars: mapLiteral([...entries(target.vars, 14), entry(deploy.imageVariable, pullRequestImage)], 14),
  }));
  // What the approver is shown, and the log keeps: each target's plan checksum in the order applied.
  const single = targets.length === 1 && targets[0]?.name === null ? targets[0] : undefined;
  const approvalMessage = single
    ? `"Apply plan \${env.PLAN_SHA256} to ${terraformDir}? It is archived as ${single.planText}"`
    : `"Apply to ${terraformDir}, in this order, \${env.PLAN_SUMMARY}?"`;
  const approvedMessage = single ? '"Plan ${env.PLAN_SHA256} approved by ${env.APPROVED_BY}"' : '"Approved by ${env.APPROVED_BY}: ${env.PLAN_SUMMARY}"';
  files.push({
    path: 'Jenkinsfile',
    template: 'Jenkinsfile.hbs',
    text: compile('Jenkinsfile.hbs')({
      library,
      tools,
      pullRequestLabel: library.pullRequestLabel,
      required: {
        pullRequest: { vars: listLiteral(terraform.requiredVars, 14), backendConfig: listLiteral(terraform.requiredBackendConfig, 14) },
        plan: { vars: listLiteral(terraform.requiredVars, 16), backendConfig: listLiteral(terraform.requiredBackendConfig, 16) },
      },
      junitFile: `${appDir}/build/test-results/junit.xml`,
      deployments: targets,
      deploymentOrder: single ? deploy.terraformDir : targets.map((t) => t.name).join(', then '),
      approvalMessage,
      approvedMessage,
    }),
  });
  return files;
}
