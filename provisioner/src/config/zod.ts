// zod, loaded with require() from node_modules (outside the CLI's bundle: scripts/build.mjs): its
// CommonJS build loads in a third of the time its ES module build of some fifty files took through
// tsx's loader, which ran the CLI before it was built. Types come from `import type`, free at run time.
import { createRequire } from 'node:module';
import type * as Zod from 'zod';

export const z = (createRequire(import.meta.url)('zod') as typeof Zod).z;
