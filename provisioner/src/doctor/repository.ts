// Reads the files `doctor` cross-checks (fleet.yaml, jenkins/casc.yaml, jenkins/plugins.txt, the
// Jenkinsfile, the library's vars/) into one value. A file that is missing or unreadable becomes a
// problem of the check that needs it, so one broken file never hides the others' findings.
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import type { Fleet } from '../model.ts';
import { loadFleet } from '../config/load.ts';
import { UserError } from '../errors.ts';
import { readTerraformInputs, type TerraformInputs } from '../library/terraform-inputs.ts';

/** A file's parsed value, or why there is none. */
export type Read<T> = { ok: true; path: string; value: T } | { ok: false; path: string; problems: string[] };

export interface Repository {
  root: string;
  fleet: Read<Fleet>;
  /** jenkins/casc.yaml, parsed. */
  casc: Read<CascFile>;
  /** jenkins/plugins.txt: plugin id -> pinned version. */
  plugins: Read<Map<string, string>>;
  /** The root Jenkinsfile's text. */
  jenkinsfile: Read<string>;
  /** The library's steps: vars/NAME.groovy text by NAME (an empty map when vars/ is absent). */
  steps: Read<Map<string, string>>;
  /** What the deploy's Terraform (fleet.yaml library.jenkinsfile.terraformDir) needs from its caller. */
  terraform: Read<TerraformInputs>;
  /** examples/fleet.yaml's text, whose ids are the documentation's and no account's (absent: undefined). */
  example: string | undefined;
  /** app/db-ca-bundle.sha256's text, the pin of the database's CA bundle (absent: undefined). */
  caBundlePin: string | undefined;
  /**
   * The EC2 endpoint configured in the environment (AWS_ENDPOINT_URL_EC2, then AWS_ENDPOINT_URL, as
   * the SDK reads them), or undefined for AWS's own: where an EC2 pool's instances are launched.
   */
  ec2Endpoint: string | undefined;
}

export interface CascFile {
  text: string;
  // JCasC's schema depends on the installed plugins; doctor reads the few keys it checks by path.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
}

export const paths = {
  casc: 'jenkins/casc.yaml',
  plugins: 'jenkins/plugins.txt',
  jenkinsfile: 'Jenkinsfile',
  vars: 'vars',
  example: 'examples/fleet.yaml',
  caBundlePin: 'app/db-ca-bundle.sha256',
} as const;

async function readText(root: string, path: string): Promise<Read<string>> {
  try {
    return { ok: true, path, value: await readFile(join(root, path), 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, path, problems: [`${path}: ${code === 'ENOENT' ? 'missing' : `cannot be read (${code ?? (err as Error).message})`}`] };
  }
}

function then<T, U>(read: Read<T>, next: (value: T) => Read<U>): Read<U> {
  return read.ok ? next(read.value) : read;
}

export function parseCasc(text: string, path: string): Read<CascFile> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { ok: false, path, problems: doc.errors.map((e) => `${path}: not valid YAML (${e.message.split('\n')[0]})`) };
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, path, problems: [`${path}: expected a mapping of JCasC root keys (jenkins, unclassified, credentials, jobs)`] };
  }
  return { ok: true, path, value: { text, data } };
}

/** `id:version` lines; `#` starts a comment. A line without a pinned version is a problem. */
export function parsePlugins(text: string, path: string): Read<Map<string, string>> {
  const plugins = new Map<string, string>();
  const problems: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const match = /^([a-z0-9][A-Za-z0-9_.-]*):(\S+)$/.exec(line);
    if (!match) {
      problems.push(`${path}:${index + 1}: expected plugin-id:version, found '${line}'`);
      return;
    }
    const [, id, version] = match as unknown as [string, string, string];
    if (version === 'latest' || version === 'experimental') problems.push(`${path}:${index + 1}: ${id} is not pinned (${version}); give an exact version`);
    if (plugins.has(id)) problems.push(`${path}:${index + 1}: ${id} is listed twice`);
    plugins.set(id, version);
  });
  return problems.length > 0 ? { ok: false, path, problems } : { ok: true, path, value: plugins };
}

async function readSteps(root: string): Promise<Read<Map<string, string>>> {
  const steps = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(join(root, paths.vars));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, path: paths.vars, value: steps };
    return { ok: false, path: paths.vars, problems: [`${paths.vars}/: cannot be read (${(err as Error).message})`] };
  }
  for (const name of names.filter((n) => n.endsWith('.groovy')).sort()) {
    const read = await readText(root, `${paths.vars}/${name}`);
    if (!read.ok) return read;
    steps.set(name.slice(0, -'.groovy'.length), read.value);
  }
  return { ok: true, path: paths.vars, value: steps };
}

/** Reads the repository at `root` with the fleet file at `fleetPath` (relative to the working directory). */
export async function readRepository(root: string, fleetPath: string, env: NodeJS.ProcessEnv): Promise<Repository> {
  // Named as the repository sees it (fleet.yaml), or as given when it lives elsewhere.
  const inRoot = relative(root, fleetPath);
  const shown = inRoot && !inRoot.startsWith('..') && !isAbsolute(inRoot) ? inRoot : fleetPath;
  let fleet: Read<Fleet>;
  try {
    fleet = { ok: true, path: shown, value: await loadFleet(fleetPath, env) };
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    fleet = { ok: false, path: shown, problems: err.problems };
  }
  const [casc, plugins, jenkinsfile, steps, example, caBundlePin] = await Promise.all([
    readText(root, paths.casc).then((r) => then(r, (text) => parseCasc(text, paths.casc))),
    readText(root, paths.plugins).then((r) => then(r, (text) => parsePlugins(text, paths.plugins))),
    readText(root, paths.jenkinsfile),
    readSteps(root),
    readText(root, paths.example),
    readText(root, paths.caBundlePin),
  ]);
  const terraformDir = fleet.ok ? fleet.value.library?.jenkinsfile.terraformDir : undefined;
  let terraform: Read<TerraformInputs>;
  if (terraformDir === undefined) {
    terraform = { ok: false, path: shown, problems: [`${shown} has no valid library: section, so the deploy's Terraform is unknown`] };
  } else {
    try {
      terraform = { ok: true, path: terraformDir, value: await readTerraformInputs(root, terraformDir) };
    } catch (err) {
      terraform = { ok: false, path: terraformDir, problems: [`${terraformDir}: cannot be read as a Terraform module (${(err as Error).message})`] };
    }
  }
  const ignoreEndpoints = /^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '');
  const ec2Endpoint = ignoreEndpoints ? undefined : env.AWS_ENDPOINT_URL_EC2 || env.AWS_ENDPOINT_URL || undefined;
  return {
    root,
    fleet,
    casc,
    plugins,
    jenkinsfile,
    steps,
    terraform,
    example: example.ok ? example.value : undefined,
    caBundlePin: caBundlePin.ok ? caBundlePin.value : undefined,
    ec2Endpoint,
  };
}
