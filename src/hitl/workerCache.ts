// Per-worker memory for the hot path. A Botpress Cloud worker serves many deliveries in a row, so what never
// changes (a ticket's conversation id) or changes rarely (an agent's Botpress user) is looked up once. Every
// cache is bounded (LRU): a long-lived worker must not grow without limit. Nothing here is shared between
// workers, so correctness never depends on it: a miss costs a call, never a wrong answer.

/**
 * A Map-backed LRU (a Map iterates in insertion order: re-inserting on read moves a key to the end, the
 * oldest key is the first). About twenty lines, where a library would add ~15 KB to the bundle.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>()
  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key)
    if (value === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  set(key: K, value: V): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K)
  }

  delete(key: K): void {
    this.entries.delete(key)
  }

  /** Drops every entry whose key passes the test (a configuration's entries, when its state changed). */
  deleteWhere(test: (key: K) => boolean): void {
    for (const key of [...this.entries.keys()]) if (test(key)) this.entries.delete(key)
  }

  get size(): number {
    return this.entries.size
  }
}

/**
 * Single-flight: concurrent calls with the same key inside this worker share one run (the second waits for the
 * first's answer instead of repeating its Botpress calls). Bounded by what is in flight at a time.
 */
export function singleFlight<T>() {
  const running = new Map<string, Promise<T>>()
  return (key: string, run: () => Promise<T>): Promise<T> => {
    const current = running.get(key)
    if (current) return current
    const started = run().finally(() => running.delete(key))
    running.set(key, started)
    return started
  }
}
