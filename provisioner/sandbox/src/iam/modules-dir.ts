import { fileURLToPath } from 'node:url';

/** terraform/modules of this repository: where the sandbox reads provisioner-iam, agent-iam and kms-key. */
export const defaultModulesDir = fileURLToPath(new URL('../../../../terraform/modules', import.meta.url));
