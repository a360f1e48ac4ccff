import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { runSoak } from "../../bench/soak/run-soak.js";

let server: Server | undefined;

afterAll(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

describe("bench soak when its server stops answering", () => {
  // Regression: the interval timer's memory read rejected with nobody listening, an unhandled rejection.
  it("ends with an error that says so, not with an unhandled rejection", async () => {
    server = createServer((req, res) => req.resume().on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}")));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let reads = 0;
    const memoryMib = async () => {
      if (++reads > 1) throw new Error("connect ECONNREFUSED");
      return 100;
    };
    await expect(runSoak({ origin, bodies: ["{}"], rate: 20, seconds: 3, intervalSeconds: 1, memoryMib })).rejects.toThrow(/memory could not be read \(connect ECONNREFUSED\)/);
    expect(reads).toBeGreaterThan(1);
  }, 30_000);
});
