import { describe, expect, it } from "vitest";
import { MemorySpendStore } from "../../server/escalation/spend-store.js";

const day1 = new Date("2026-11-23T10:00:00Z");

describe("in-process spend store", () => {
  it("reserves only within the budget, counting reservations in flight", async () => {
    const store = new MemorySpendStore();
    const a = await store.reserve("t", 0.4, 1, day1);
    const b = await store.reserve("t", 0.4, 1, day1);
    expect(a && b).toBeTruthy();
    expect(await store.reserve("t", 0.4, 1, day1)).toBeUndefined();
    await store.settle(a!, 0.1);
    expect(await store.reserve("t", 0.4, 1, day1)).toBeTruthy();
    expect(await store.spend("t", day1)).toEqual({ day: "2026-11-23", committedUsd: 0.1, reservedUsd: 0.8 });
  });

  it("adds thousands of small amounts exactly, so the last cent of a budget is usable and never exceeded", async () => {
    const store = new MemorySpendStore();
    let granted = 0;
    for (let i = 0; i < 2000; i++) {
      const r = await store.reserve("t", 0.001, 1, day1);
      if (r) {
        granted++;
        await store.settle(r, 0.001);
      }
    }
    expect(granted).toBe(1000);
    expect((await store.spend("t", day1)).committedUsd).toBe(1);
  });

  it("keeps budgets per tenant and per UTC day, and restores a day's spend from the ledger", async () => {
    const store = new MemorySpendStore();
    store.seed("t", "2026-11-23", 0.95);
    expect(await store.reserve("t", 0.1, 1, day1)).toBeUndefined();
    expect(await store.reserve("u", 0.1, 1, day1)).toBeTruthy();
    expect(await store.reserve("t", 0.1, 1, new Date("2026-11-24T00:00:01Z"))).toBeTruthy();
  });

  it("releases a reservation that was not billed", async () => {
    const store = new MemorySpendStore();
    const r = await store.reserve("t", 1, 1, day1);
    await store.release(r!);
    expect(await store.spend("t", day1)).toMatchObject({ committedUsd: 0, reservedUsd: 0 });
  });

  it("limits escalations per minute with a token bucket that refills over time", async () => {
    const store = new MemorySpendStore();
    const at = (ms: number) => new Date(day1.getTime() + ms);
    const taken = [];
    for (let i = 0; i < 4; i++) taken.push(await store.takeEscalation("t", 3, at(0)));
    expect(taken).toEqual([true, true, true, false]);
    expect(await store.takeEscalation("t", 3, at(19_000))).toBe(false);
    expect(await store.takeEscalation("t", 3, at(20_000))).toBe(true);
  });
});
