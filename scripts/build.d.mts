// Types of scripts/build.mjs, for the test suites' set-up (test/support/build-cli.ts).
/** Whether a source the last build read changed after it (or there is no build). */
export function stale(): boolean;
/** Builds the CLI into provisioner/dist/cli/; resolves to the number of files written. */
export function build(): Promise<number>;
