/** A first-come first-served lock for async code in one process. */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs fn once every earlier holder has finished. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
