/**
 * Whether escalation is on. Read on every escalation, so reading is synchronous: a shared switch keeps a local copy
 * that follows the store (pushed within a second), and a flip is written to the store before it is acknowledged.
 */
export interface KillSwitch {
  readonly on: boolean;
  set(on: boolean): Promise<void>;
  close(): Promise<void>;
}

/** One process's switch. */
export class MemoryKillSwitch implements KillSwitch {
  constructor(public on: boolean) {}

  async set(on: boolean): Promise<void> {
    this.on = on;
  }

  async close(): Promise<void> {}
}
