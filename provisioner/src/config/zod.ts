// zod, loaded with require(): its ES module build is some fifty files, each of which would pass
// through tsx's loader hooks at every command's start-up (~0.1 s of CPU; the CommonJS build loads
// in a third of that). Types come from `import type { z as zod } from 'zod'`, free at run time.
import { createRequire } from 'node:module';
import type * as Zod from 'zod';

export const z = (createRequire(import.meta.url)('zod') as typeof Zod).z;
