// zod for the sources run through tsx (the sandbox): loaded with require() from node_modules, as its
// CommonJS build loads in a third of the time its ES module build of some fifty files takes through
// tsx's loader. The CLI's bundle replaces this module with zod's ES build, bundled (scripts/build.mjs).
// Types come from `import type`, free at run time.
import { createRequire } from 'node:module';
import type * as Zod from 'zod';

export const z = (createRequire(import.meta.url)('zod') as typeof Zod).z;
