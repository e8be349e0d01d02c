// Renders the bootstrap script a pool's hosts run (provisioner/templates/bootstrap.sh.hbs). One
// script serves every host of a pool: each host works out its own agent name, so one SendCommand
// can carry up to 50 hosts. The script holds no secret.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { secretParameterPrefix, type Fleet, type Pool } from '../model.ts';

const templatePath = new URL('../../templates/bootstrap.sh.hbs', import.meta.url);
let compiled: HandlebarsTemplateDelegate | undefined;

export interface BootstrapValues {
  fleet: string;
  pool: string;
  controllerUrl: string;
  remoteFS: string;
  region: string;
  parameterPrefix: string;
  /** Space-separated tool names. */
  tools: string;
  /** Space-separated absolute paths the agent user must own: the library steps' caches. */
  cacheDirs: string;
  /** The oldest Python the library's steps accept (`library.python.minVersion`). */
  pythonMin: string;
  /** The distribution package of that Python (`python3.11`), for hosts whose python3 is older. */
  pythonPackage: string;
}

// Values land inside single quotes in bash: allow only characters that can neither end the quote
// nor start an expansion, so no value can inject code even if validation upstream changes.
const safe = /^[A-Za-z0-9_.:/@%+=, -]*$/;

export function bootstrapValues(fleet: Fleet, pool: Pool): BootstrapValues {
  return {
    fleet: fleet.fleet,
    pool: pool.name,
    controllerUrl: fleet.controller.url.replace(/\/+$/, ''),
    remoteFS: pool.remoteFS,
    region: pool.region,
    parameterPrefix: secretParameterPrefix(fleet.fleet),
    tools: pool.tools.join(' '),
    cacheDirs: cacheDirs(fleet, pool).join(' '),
    ...pythonValues(fleet.library?.python.minVersion ?? defaultPythonMin),
  };
}

/** The library's default `minVersion` (provisioner/src/library/schema.ts), for fleets without `library:`. */
const defaultPythonMin = '3.11';

export function pythonValues(minVersion: string): { pythonMin: string; pythonPackage: string } {
  const [major = '3', minor] = minVersion.split('.');
  return { pythonMin: minVersion, pythonPackage: minor === undefined ? `python${major}` : `python${major}.${minor}` };
}

/** The caches of the library steps this pool can run (`buildApp` needs python, `terraformApply` terraform). */
function cacheDirs(fleet: Fleet, pool: Pool): string[] {
  const library = fleet.library;
  if (!library) return [];
  return [
    ...(pool.tools.includes('python') ? [library.python.venvCache] : []),
    ...(pool.tools.includes('terraform') ? [library.terraform.pluginCache] : []),
  ];
}

export function renderBootstrap(values: BootstrapValues): string {
  for (const [key, value] of Object.entries(values)) {
    if (!safe.test(value)) throw new Error(`bootstrap: ${key} '${value}' holds characters not allowed in the script`);
  }
  compiled ??= Handlebars.compile(readFileSync(templatePath, 'utf8'), { noEscape: true, strict: true });
  return compiled(values);
}

/**
 * What a pool's rendered bootstrap comes to (sha256, first 16 hex digits): recorded on each instance
 * it is launched for, so that any change the script depends on (tools, remoteFS, the controller's
 * URL, the library's Python, the template itself) shows the instance out of date.
 */
export function bootstrapDigest(fleet: Fleet, pool: Pool): string {
  return createHash('sha256').update(renderBootstrap(bootstrapValues(fleet, pool))).digest('hex').slice(0, 16);
}
