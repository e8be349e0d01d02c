// When Jenkins calls a running build likely stuck and a queued one stuck: Executor.isLikelyStuck
// (ten estimated durations, no floor) and BuildableItem.isStuck (ten estimates of at least a
// minute), and without an estimate both only once TimeUnit.MILLISECONDS.toHours(elapsed) > 24.
import { afterEach, describe, expect, it } from 'vitest';
import { BuildQueue } from '../../../provisioner/sandbox/src/jenkins-queue.ts';
import type { SandboxBuild } from '../../../provisioner/sandbox/src/state.ts';
import type { Sandbox } from '../../../provisioner/sandbox/src/world.ts';

const hour = 3_600_000;
const queues: BuildQueue[] = [];
afterEach(() => { for (const q of queues.splice(0)) q.close(); });

function queueOf(builds: SandboxBuild[]): BuildQueue {
  const sb = { store: { world: { builds, nodes: [] }, save: () => {} } } as unknown as Sandbox;
  const queue = new BuildQueue(sb, { isConnected: () => true }, { maintenancePeriodMs: 3_600_000, executorStartMs: 0, lostAgentTimeoutMs: 1_000_000_000, keepBuilds: null });
  queues.push(queue);
  return queue;
}

const finished = (id: number, ms: number): SandboxBuild => ({ id, queueId: id, label: 'x', durationMs: ms, queuedAt: 0, buildableAt: 0, startedAt: 0, finishedAt: ms, node: 'n', executor: 0, result: 'SUCCESS' }) as SandboxBuild;

describe('stuck and likely stuck, as Jenkins counts them', () => {
  it('calls a running build likely stuck past ten estimates even when they are under a minute', () => {
    const start = Date.now();
    const running = { id: 4, queueId: 4, label: 'x', durationMs: null, queuedAt: start, buildableAt: start, startedAt: start, node: 'n', executor: 0, result: null } as SandboxBuild;
    const queue = queueOf([finished(1, 2000), finished(2, 2000), finished(3, 2000), running]);
    expect(queue.estimatedDuration()).toBe(2000);
    expect(queue.executorJson({ number: 0, build: running }, true, 'http://j/', 1, start + 19_000)).toMatchObject({ likelyStuck: false, progress: 99 });
    expect(queue.executorJson({ number: 0, build: running }, true, 'http://j/', 1, start + 21_000)).toMatchObject({ likelyStuck: true });
  });

  it('without an estimate, calls a running build likely stuck and a queued one stuck only at 25 whole hours', () => {
    const start = Date.now() - 25 * hour;
    const running = { id: 1, queueId: 1, label: 'x', durationMs: null, queuedAt: start, buildableAt: start, startedAt: start, node: 'n', executor: 0, result: null } as SandboxBuild;
    const waiting = { id: 2, queueId: 2, label: null, durationMs: 1000, queuedAt: start, buildableAt: start, result: null } as SandboxBuild;
    const queue = queueOf([running, waiting]);
    expect(queue.estimatedDuration()).toBe(-1);
    const at = (elapsed: number) => ({
      likelyStuck: queue.executorJson({ number: 0, build: running }, true, 'http://j/', 1, start + elapsed).likelyStuck,
      stuck: (queue.queueJson(true, 'en', start + elapsed).items as Array<{ id: number; stuck: boolean }>).find((i) => i.id === 2)?.stuck,
    });
    expect(at(24 * hour + 59 * 60_000)).toEqual({ likelyStuck: false, stuck: false });
    expect(at(25 * hour)).toEqual({ likelyStuck: true, stuck: true });
  });
});
