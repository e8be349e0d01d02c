// Renders the shared library (vars/NAME.groovy, vars/NAME.txt) and the root Jenkinsfile from
// the Handlebars templates in provisioner/templates/library/, the fleet's library: section and
// its pools' labels and tools. Pure apart from reading the templates: no file is written here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { groovyComment, groovyLiteral, groovyString, groovyWrapped, type GroovyValue } from './groovy.ts';
import type { Library } from './schema.ts';
import { steps, toolHomes, type Param, type Step } from './steps.ts';

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
export function renderLibrary(library: Library, pools: readonly PoolLike[], dir = templatesDir): Rendered[] {
  const hb = engine(dir);
  const tools = toolHomes(pools);
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
  // One entry a line, indented under the terraformApply call.
  const mapLiteral = (entries: string[]) => `[\n            ${entries.join(',\n            ')}\n          ]`;
  const backendConfig = Object.entries(deploy.backendConfig).map(([k, v]) => entry(k, groovyString(v)));
  const fixedVars = Object.entries(deploy.vars).map(([k, v]) => entry(k, groovyString(v)));
  files.push({
    path: 'Jenkinsfile',
    template: 'Jenkinsfile.hbs',
    text: compile('Jenkinsfile.hbs')({
      library,
      tools,
      // No version: casc.yaml pins defaultVersion with allowVersionOverride false, and then
      // pipeline-groovy-lib refuses any version in the annotation, even the default one.
      libraryRef: library.name,
      junitFile: `${appDir}/build/test-results/junit.xml`,
      backendConfig: backendConfig.length > 0 ? mapLiteral(backendConfig) : '',
      deployVars: mapLiteral([...fixedVars, entry(deploy.imageVariable, 'env.IMAGE_REFERENCE')]),
      pullRequestVars: mapLiteral([...fixedVars, entry(deploy.imageVariable, pullRequestImage)]),
    }),
  });
  return files;
}
