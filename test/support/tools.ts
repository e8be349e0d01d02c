// A PATH that holds exactly the tools a test means a script to have: a directory of links to the
// machine's real ones and of the test's own stand-ins, so that no other tool of this machine (a
// pyenv shim's `aws`, a real `apt-get`) answers in their place, and a tool the test leaves out is
// absent.
import { accessSync, chmodSync, constants, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where the real tools are looked for: the system's directories first, so that python3 is the system's, not a version manager's shim. */
export const systemDirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function findTool(name: string): string {
  for (const dir of [...systemDirs, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} is not installed on this machine; the test needs it (scripts/system-packages.txt lists what CI installs)`);
}

/**
 * Makes `dir` the whole PATH of a child process: links to the real `tools`, and `standIns`
 * (name → shell script body, run by /bin/sh unless it has its own #! line). Returns the PATH value.
 */
export function toolPath(dir: string, tools: readonly string[], standIns: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  for (const tool of tools) symlinkSync(findTool(tool), join(dir, tool));
  for (const [name, body] of Object.entries(standIns)) {
    writeFileSync(join(dir, name), body.startsWith('#!') ? body : `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}
