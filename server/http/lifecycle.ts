/**
 * Whether the server is shutting down, and how many requests it is still answering: shutdown waits for that count
 * to reach zero while the listener stays open, so probes and callers get a clear 503 instead of a refused connection.
 */
export class Lifecycle {
  shuttingDown = false;
  private active = 0;
  private waiters: Array<() => void> = [];

  /** Counts a request from its first hook until its response is closed. */
  enter(): () => void {
    this.active++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.active--;
      if (this.active === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  /** Resolves when no request is being answered. */
  idle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
