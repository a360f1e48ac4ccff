import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { errorHandler } from "../../server/http/error-handler.js";
import { consoleRoutes } from "../../server/http/routes/console.js";

let app: FastifyInstance | undefined;
let dir: string | undefined;

async function consoleApp(files: Record<string, string>): Promise<FastifyInstance> {
  dir = await mkdtemp(join(tmpdir(), "console-assets-"));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  app = Fastify();
  app.setErrorHandler(errorHandler);
  await app.register(consoleRoutes, { assets: dir });
  return app;
}

afterEach(async () => {
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  app = dir = undefined;
});

describe("console files", () => {
  it("serves the built page under /console/ and sends /console there", async () => {
    const served = await consoleApp({ "index.html": "<!doctype html><title>console</title>", "console.js": "export {};" });
    const redirect = await served.inject("/console");
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe("/console/");
    expect((await served.inject("/console/")).body).toContain("<title>console</title>");
    expect((await served.inject("/console/console.js")).headers["content-type"]).toContain("javascript");
  });

  it("says how to build the console when its files are missing", async () => {
    const unbuilt = await consoleApp({});
    const r = await unbuilt.inject("/console/");
    expect(r.statusCode).toBe(503);
    expect(r.json().error).toMatchObject({ code: "ERR_CONSOLE_NOT_BUILT" });
    expect(r.json().error.message).toContain("npm run build");
  });
});
