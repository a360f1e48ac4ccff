import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { closedLoop, openLoop } from "../../bench/load/load-generator.js";

describe("load generator throughput", () => {
  it("counts answered requests only: a server that fails half its requests fast does not look faster", async () => {
    let served = 0;
    const server = createServer((request, response) => {
      request.resume();
      request.on("end", () => (++served % 2 === 0 ? response.writeHead(500).end("{}") : setTimeout(() => response.end("{}"), 2)));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const options = { origin, path: "/", bodies: ["{}"], durationSeconds: 0.5, warmupSeconds: 0 };
      for (const result of [await closedLoop(options, 2), await openLoop(options, 100)]) {
        expect(result.errors).toBeGreaterThan(0);
        expect(result.throughput * result.seconds).toBeCloseTo(result.requests - result.errors, 0);
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
