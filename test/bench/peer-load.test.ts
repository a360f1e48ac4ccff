import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processRssMib } from "../../bench/load/process-rss.js";
import { chatLoop } from "../../bench/peer/chat-load.js";
import { peerUnavailable } from "../../bench/peer/llama-server-process.js";

/** A chat server on loopback that answers three tokens, plain or streamed, and fails every fifth request. */
let server: Server;
let origin: string;
let served = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      if (++served % 5 === 0) return void response.writeHead(500).end("{}");
      const stream = (JSON.parse(body) as { stream?: boolean }).stream === true;
      if (!stream) {
        response.writeHead(200, { "content-type": "application/json" });
        return void response.end(JSON.stringify({ choices: [{ message: { content: "a b c" } }], usage: { completion_tokens: 3 } }));
      }
      response.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (content: string | null) => `data: ${JSON.stringify({ choices: [{ delta: { content } }] })}\n\n`;
      // The role chunk carries no text: the first token is the next one. Events may straddle network reads.
      response.write(chunk(null));
      response.write(chunk("a").slice(0, 10));
      setTimeout(() => response.end(chunk("a").slice(10) + chunk(" b") + chunk(" c") + "data: [DONE]\n\n"), 5);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("bench peer's chat load", () => {
  it("counts tokens from usage, and failures as errors", async () => {
    const result = await chatLoop(origin, [JSON.stringify({ stream: false })], 2, 0.5, false, 0);
    expect(result.requests).toBeGreaterThan(5);
    expect(result.errors).toBeGreaterThan(0);
    expect(result.tokensPerSecond * result.seconds).toBeCloseTo((result.requests - result.errors) * 3, 0);
    expect(result.throughput * result.seconds).toBeCloseTo(result.requests - result.errors, 0);
    expect(result.firstError).toBe("HTTP 500: {}");
    expect(result.firstTokenMs).toBeUndefined();
  });

  it("reads a stream's events across reads: tokens are the chunks with text, the first token time is recorded", async () => {
    const result = await chatLoop(origin, [JSON.stringify({ stream: true })], 1, 0.5, true, 0);
    expect(result.tokensPerSecond * result.seconds).toBeCloseTo((result.requests - result.errors) * 3, 0);
    // The first text completes only after the server's 5 ms pause: a token counted from half an event would be early.
    expect(result.firstTokenMs!.p50).toBeGreaterThan(4);
  });

  it("sends a request again when the server closed the kept-alive connection it went out on", async () => {
    // Each connection answers one request and drops the next unread, as llama-server does after some streams.
    const closing = createServer((request, response) => {
      const socket = request.socket as typeof request.socket & { answered?: boolean };
      if (socket.answered) return void socket.destroy();
      socket.answered = true;
      request.resume();
      request.on("end", () => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ usage: { completion_tokens: 3 } })));
    });
    closing.listen(0, "127.0.0.1");
    await once(closing, "listening");
    try {
      const result = await chatLoop(`http://127.0.0.1:${(closing.address() as AddressInfo).port}`, ["{}"], 1, 0.3, false, 0);
      expect(result.requests).toBeGreaterThan(2);
      expect(result.reconnects).toBeGreaterThan(0);
      expect(result.errors).toBe(0);
    } finally {
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    }
  });

  it("skips a missing peer with the reason, and reads a process's memory from the kernel", async () => {
    expect(await peerUnavailable(undefined)).toMatch(/no --llama-server/);
    expect(await peerUnavailable("/nonexistent/llama-server")).toMatch(/missing or not executable/);
    const rss = await processRssMib(process.pid);
    expect(rss.now).toBeGreaterThan(10);
    expect(rss.peak).toBeGreaterThanOrEqual(rss.now);
  });
});
