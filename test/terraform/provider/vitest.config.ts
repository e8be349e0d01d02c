// The checks that need the real hashicorp/aws provider (validate, offline plans). They are kept
// out of the main vitest run (`*.check.ts`, not `*.test.ts`) because each one starts the
// provider, which takes several seconds: `npm test -- terraform-provider` runs them once.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../../..', import.meta.url)),
    include: ['test/terraform/provider/*.check.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
