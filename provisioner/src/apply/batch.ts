// Small concurrency tools for the executor: a bound on calls in flight, and a batcher that turns
// many single requests (terminate this, tag that) into few API calls.

/** Runs at most `concurrency` of the given tasks at once. */
export function limiter(concurrency: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    if (active >= concurrency) return;
    const start = queue.shift();
    if (start) {
      active += 1;
      start();
    }
  };
  return (task) =>
    new Promise((resolve, reject) => {
      queue.push(() => {
        task()
          .then(resolve, reject)
          .finally(() => {
            active -= 1;
            next();
          });
      });
      next();
    });
}

/**
 * Collects items per key and hands them to `flush` together: when `maxItems` are waiting or
 * `lingerMs` after the first one. Each `add` resolves when its batch's call has finished.
 */
export class Batcher<T> {
  private pending = new Map<string, { items: T[]; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>; timer: NodeJS.Timeout }>();

  constructor(
    private readonly flush: (key: string, items: T[]) => Promise<void>,
    private readonly maxItems = 100,
    private readonly lingerMs = 200,
  ) {}

  add(key: string, item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(key);
      if (!batch) {
        batch = { items: [], waiters: [], timer: setTimeout(() => this.send(key), this.lingerMs) };
        this.pending.set(key, batch);
      }
      batch.items.push(item);
      batch.waiters.push({ resolve, reject });
      if (batch.items.length >= this.maxItems) this.send(key);
    });
  }

  private send(key: string): void {
    const batch = this.pending.get(key);
    if (!batch) return;
    this.pending.delete(key);
    clearTimeout(batch.timer);
    this.flush(key, batch.items).then(
      () => batch.waiters.forEach((w) => w.resolve()),
      (err) => batch.waiters.forEach((w) => w.reject(err)),
    );
  }
}
