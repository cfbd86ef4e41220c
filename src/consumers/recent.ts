// What a consumer remembers of recent notices (deliveries made, answers received), in memory and
// bounded: entries are kept in the order they were last written, and past `max` the oldest go.

export class Recent<V = true> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly max: number) {}

  /** Writes `key` as the newest entry; the oldest falls out when there are more than `max`. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }
}
