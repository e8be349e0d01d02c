// Before any suite: the CLI the tests spawn (bin/provisioner.mjs) runs the build in provisioner/dist,
// so make it anew when a source changed since (scripts/build.mjs); the tests then run what users run.
import { build, stale } from '../../scripts/build.mjs';

export default async function buildCli(): Promise<void> {
  if (stale()) await build();
}
