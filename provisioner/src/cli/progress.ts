// The two faces of a running `up`/`down`: a live table per pool on a terminal, plain log lines
// (one per event, with the agent's name) everywhere else. The output host (io.ts) picks one.
import type { Failure, ProgressEvent, Reporter } from '../apply/events.ts';

/** A failure in one line: the agent (or instance, or pool), the step, and the remote's words. */
export function formatFailure(failure: Failure): string {
  const who = failure.agent ?? failure.instanceId ?? `pool ${failure.pool}`;
  const pool = failure.agent || failure.instanceId ? ` (pool ${failure.pool})` : '';
  return `${who}${pool}: ${failure.step}: ${failure.error}`;
}

/** One line per event, e.g. for CI logs. */
export class LogReporter implements Reporter {
  constructor(private readonly write: (line: string) => void) {}

  event(e: ProgressEvent): void {
    const line = logLine(e);
    if (line) this.write(line);
  }
}

function logLine(e: ProgressEvent): string | undefined {
  switch (e.kind) {
    case 'launched':
      return e.instanceIds.length ? `${e.pool}: launched ${e.instanceIds.join(', ')}` : undefined;
    case 'ready':
      return `${e.agent}: host ready for commands`;
    case 'registered':
      return `${e.agent}: registered in Jenkins`;
    case 'bootstrapped':
      return `${e.agent}: bootstrapped`;
    case 'online':
      return `${e.agent}: online`;
    case 'resumed':
      return `${e.agent}: back online (drain lifted)`;
    case 'reconfigured':
      return `${e.agent}: node updated in place (${e.fields.join(', ')})`;
    case 'draining':
      return `${e.agent}: draining (no new builds)`;
    case 'removed':
      return `${e.agent ?? e.instanceId}: removed`;
    case 'deleted':
      return `${e.name}: ${e.what} deleted`;
    case 'failed':
      return `FAILED ${formatFailure(e)}`;
    case 'note':
      return `${e.agent ?? e.pool ?? 'fleet'}: ${e.message}`;
    case 'interrupted': {
      const what = e.notice === 'warning' ? 'EC2 Spot interruption warning' : 'EC2 rebalance recommendation';
      const builds = e.builds.length === 0 ? 'no build running there' : `build(s) running there: ${e.builds.map((b) => (b.url ? `${b.name} (${b.url})` : b.name)).join(', ')}`;
      return `${e.agent}: ${what} at ${e.noticeAt}: drained; ${builds}`;
    }
  }
}

interface PoolCounts {
  launched: number;
  running: number;
  registered: number;
  online: number;
  removed: number;
  failed: number;
}

/** A table redrawn in place: per pool, launched / running / registered / online. */
export class TableReporter implements Reporter {
  private readonly counts = new Map<string, PoolCounts>();
  /** What each agent being waited for is waiting on (the latest note), shown under the table. */
  private readonly waits = new Map<string, string>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: { write(text: string): unknown },
    pools: readonly string[],
  ) {
    for (const pool of pools) this.counts.set(pool, { launched: 0, running: 0, registered: 0, online: 0, removed: 0, failed: 0 });
  }

  event(e: ProgressEvent): void {
    if (e.kind === 'deleted' || (e.kind === 'note' && !e.pool)) return;
    const pool = 'pool' in e && e.pool ? e.pool : undefined;
    if (!pool) return;
    const c = this.counts.get(pool) ?? { launched: 0, running: 0, registered: 0, online: 0, removed: 0, failed: 0 };
    this.counts.set(pool, c);
    if (e.kind === 'note' && e.agent) this.waits.set(e.agent, e.message);
    else if ('agent' in e && e.agent && e.kind !== 'note') this.waits.delete(e.agent);
    if (e.kind === 'launched') c.launched += e.instanceIds.length;
    else if (e.kind === 'ready') c.running += 1;
    else if (e.kind === 'registered') c.registered += 1;
    else if (e.kind === 'online' || e.kind === 'resumed') c.online += 1;
    else if (e.kind === 'removed') c.removed += 1;
    else if (e.kind === 'failed') {
      c.failed += 1;
      this.clear();
      this.stream.write(`FAILED ${formatFailure(e)}\n`);
    }
    this.schedule();
  }

  /** Draws the final state and stops redrawing. */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 100);
  }

  private clear(): void {
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    this.clear();
    const lines = [`${'POOL'.padEnd(16)} LAUNCHED  RUNNING  REGISTERED  ONLINE  REMOVED  FAILED`];
    for (const [pool, c] of this.counts) {
      lines.push(
        `${pool.padEnd(16)} ${String(c.launched).padStart(8)}  ${String(c.running).padStart(7)}  ${String(c.registered).padStart(10)}  ${String(c.online).padStart(6)}  ${String(c.removed).padStart(7)}  ${String(c.failed).padStart(6)}`,
      );
    }
    for (const [agent, note] of this.waits) lines.push(`${agent}: ${note}`);
    this.stream.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
