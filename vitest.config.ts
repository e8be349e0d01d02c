// The TypeScript suites as vitest projects: each file belongs to exactly one, so `vitest run` runs
// every test once and `vitest run --project NAME` (`npm run test:NAME`) runs one suite. test/
// mirrors the repository: test/provisioner/ mirrors provisioner/src/, test/jenkins/ jenkins/,
// test/terraform/ terraform/; test/e2e/ drives the CLI through the sandbox; test/support/ holds
// what several suites share (fleet files, the in-memory world, the sandbox and sshd harnesses).
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/** The files that need a real sshd on loopback. */
const ssh = [
  'test/provisioner/config/ssh.test.ts',
  'test/provisioner/transport/ssh-host-keys.test.ts',
  'test/provisioner/transport/ssh.test.ts',
  'test/provisioner/sandbox/ssh-hosts.test.ts',
  'test/provisioner/sandbox/ssh-instances.test.ts',
  'test/e2e/ssh.test.ts',
  'test/e2e/spot-ssh.test.ts',
];

function project(name: string, include: string[], exclude: string[] = [], extra: TestProjectInlineConfiguration['test'] = {}): TestProjectInlineConfiguration {
  return { extends: true, test: { name, include, exclude: [...exclude, '**/node_modules/**'], ...extra } };
}

export default defineConfig({
  test: {
    // End-to-end suites start real servers (sshd, sandbox); give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The suites spawn the built CLI (bin/provisioner.mjs): built first when a source is newer.
    globalSetup: ['test/support/build-cli.ts'],
    projects: [
      // The provisioner's modules, each beside its source's mirror; no server beyond a stand-in it starts itself.
      project('unit', ['test/provisioner/**/*.test.ts', 'test/*.test.ts'], ['test/provisioner/sandbox/**', 'test/provisioner/doctor/**', 'test/provisioner/library/**', ...ssh]),
      // The stand-ins of EC2, SSM and Jenkins, through the real clients.
      project('sandbox', ['test/provisioner/sandbox/**/*.test.ts'], ssh),
      // The provisioner end to end, through the CLI and the sandbox. E2E_SCALE=0.5 halves the agent counts of the crash and fault runs.
      project('e2e', ['test/e2e/**/*.test.ts'], ssh),
      // The SSH transport and static hosts against real sshd on loopback.
      project('ssh', ssh),
      // The controller as code (jenkins/) and `provisioner doctor`.
      project('jenkins', ['test/jenkins/**/*.test.ts', 'test/provisioner/doctor/**/*.test.ts']),
      // The library generator, its schema and `provisioner library`.
      project('library-ts', ['test/provisioner/library/**/*.test.ts']),
      // The Terraform policy over every .tf file.
      project('terraform-policy', ['test/terraform/*.test.ts']),
      // terraform validate and offline plans with the real aws provider from the machine's filesystem
      // mirror: each starts the provider, which takes several seconds.
      project('terraform-provider', ['test/terraform/provider/*.check.ts'], [], { testTimeout: 180_000 }),
      // docs/GETTING-STARTED.md walked offline: its terraform steps against the provider mirror, its
      // provisioner steps against the sandbox.
      project('guide', ['test/docs/**/*.test.ts'], [], { testTimeout: 180_000, hookTimeout: 900_000 }),
    ],
  },
});
