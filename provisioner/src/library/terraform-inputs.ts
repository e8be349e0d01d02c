// What a Terraform root module needs from whoever runs it: its input variables without a default,
// and the settings its backend block leaves to `init -backend-config`. Read from the module's
// .tf files with @cdktf/hcl2json (no terraform, no provider), for `provisioner library` (the deploy
// step checks them before `terraform init`) and `provisioner doctor` (fleet.yaml gives them all).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export interface TerraformInputs {
  /** The module's directory, as given. */
  dir: string;
  /** Input variables without a default, in file order. */
  requiredVars: string[];
  /** The backend type, when the module declares one. */
  backend: string | undefined;
  /** Settings the backend block leaves to -backend-config that the backend cannot work without. */
  requiredBackendConfig: string[];
}

// The settings a backend cannot work without. Only the backends the bank uses are listed: for any
// other, nothing is required here and `terraform init` says what is missing.
const backendRequires: Record<string, string[]> = {
  s3: ['bucket', 'key', 'region'],
};

type Hcl = Record<string, unknown>;

/** The inputs of the root module in `dir` (relative to `root`); a UserError-free read: problems throw Error. */
export async function readTerraformInputs(root: string, dir: string): Promise<TerraformInputs> {
  const path = join(root, dir);
  const files = (await readdir(path)).filter((f) => f.endsWith('.tf')).sort();
  if (files.length === 0) throw new Error(`${dir}: no .tf files`);
  const requiredVars: string[] = [];
  let backend: string | undefined;
  const backendSettings = new Set<string>();
  for (const file of files) {
    const hcl = (await parse(file, await readFile(join(path, file), 'utf8'))) as Hcl;
    for (const [name, blocks] of Object.entries((hcl.variable ?? {}) as Record<string, Hcl[]>)) {
      if (!blocks.some((b) => 'default' in b)) requiredVars.push(name);
    }
    for (const terraform of (hcl.terraform ?? []) as Hcl[]) {
      for (const [type, blocks] of Object.entries((terraform.backend ?? {}) as Record<string, Hcl[]>)) {
        backend = type;
        for (const block of blocks) for (const key of Object.keys(block)) backendSettings.add(key);
      }
    }
  }
  const requiredBackendConfig = backend ? (backendRequires[backend] ?? []).filter((k) => !backendSettings.has(k)) : [];
  return { dir, requiredVars, backend, requiredBackendConfig };
}
