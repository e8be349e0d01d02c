// Where EC2 just said it has no capacity: (market, instance type, zone) combinations that failed a
// launch for capacity are left out of the next launches for a few minutes, so a Spot pool does not
// ask the same empty pool again on every launch and the shortfall goes straight elsewhere. Kept in
// memory only: one `up` (or one `watch` process, tick after tick) remembers; a new process starts
// knowing nothing and pays at most one refused attempt per combination to learn it again.
import type { Market } from '../ports.ts';

/** How long a capacity failure keeps its combination out of launches. */
export const capacityMemoryMs = 5 * 60_000;

export class CapacityMemory {
  /** `market|type|place` -> epoch ms until which it is left out; a place is a zone, or a subnet when EC2 named no zone. */
  private readonly failed = new Map<string, number>();
  /** The zone of each subnet, as EC2 named it in an answer. */
  private readonly zones = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now, private readonly forMs = capacityMemoryMs) {}

  /** Remembers that `instanceType` had no `market` capacity in `zone` (or the zone of `subnetId`). */
  remember(market: Market, instanceType: string, where: { zone?: string; subnetId?: string }): void {
    if (where.zone && where.subnetId) this.zones.set(where.subnetId, where.zone);
    const place = where.zone ?? (where.subnetId ? this.zones.get(where.subnetId) ?? where.subnetId : undefined);
    if (place) this.failed.set(`${market}|${instanceType}|${place}`, this.now() + this.forMs);
  }

  /** Whether a launch of `instanceType` on `market` into `subnetId` failed for capacity a moment ago. */
  failing(market: Market, instanceType: string, subnetId: string): boolean {
    const places = [subnetId, this.zones.get(subnetId)].filter((p): p is string => p !== undefined);
    return places.some((place) => (this.failed.get(`${market}|${instanceType}|${place}`) ?? 0) > this.now());
  }
}
