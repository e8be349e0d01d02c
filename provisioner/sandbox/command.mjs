// `@jenkins-fleet/sandbox/command` for plain Node, as the provisioner's built CLI runs: the package
// is TypeScript run through tsx (as its bin is), so tsx's loader is registered before the command loads.
import { register } from 'tsx/esm/api';

register();
export const { sandboxCommand } = await import('./src/command.ts');
