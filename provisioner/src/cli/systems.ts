// Wires the real adapters into the executor's `Systems`: one shared client per service and region
// (the adapters cache them), and a transport per pool.
import { dirname } from 'node:path';
import type { Systems } from '../apply/apply.ts';
import { Ec2Compute } from '../aws/ec2.ts';
import { SqsInterruptionQueue } from '../aws/sqs.ts';
import { SsmParameters, SsmRunCommand } from '../aws/ssm.ts';
import type { Fleet, Pool } from '../model.ts';
import { JenkinsController } from '../jenkins/controller.ts';
import type { Compute, Parameters, RunCommand } from '../ports.ts';
import type { ConnectOptions } from './command.ts';
import { SshTransport } from '../transport/ssh.ts';
import { SsmTransport } from '../transport/ssm.ts';
import type { Transport } from '../transport/transport.ts';

export function connect(fleet: Fleet, token: string, options: ConnectOptions = {}): Systems {
  const perRegion = <T>(make: (region: string) => T) => {
    const made = new Map<string, T>();
    return (region: string): T => {
      let value = made.get(region);
      if (!value) made.set(region, (value = make(region)));
      return value;
    };
  };
  const compute = perRegion<Compute>((region) => new Ec2Compute(region));
  const parameters = perRegion<Parameters>((region) => new SsmParameters(region));
  const runCommand = perRegion<RunCommand>((region) => new SsmRunCommand(region));
  const transports = new Map<string, Transport>();
  // One SSH transport for the fleet, so --concurrency bounds every pool's hosts together.
  let ssh: SshTransport | undefined;
  return {
    controller: new JenkinsController({ url: fleet.controller.url, user: fleet.controller.user, token }),
    ...(fleet.interruptions ? { interruptions: fleet.interruptions.queues.map((url) => new SqsInterruptionQueue(url, fleet.region)) } : {}),
    compute,
    parameters,
    transport: (pool: Pool) => {
      let transport = transports.get(pool.name);
      if (!transport) {
        transport =
          pool.transport === 'ssh'
            ? (ssh ??= new SshTransport({
                baseDir: dirname(fleet.source),
                env: options.env ?? process.env,
                concurrency: options.concurrency,
                // accept-new on EC2 trusts only a host key the instance printed to its console.
                consoleOutput: (instanceId, region) => compute(region).consoleOutput(instanceId),
              }))
            : new SsmTransport(fleet, parameters(pool.region), runCommand(pool.region));
        transports.set(pool.name, transport);
      }
      return transport;
    },
  };
}
