import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import { ServingError } from "../../errors/registry.js";

/** Where `npm run build` writes the console: dist/console-web, found from this file in the source tree or in dist. */
export function defaultConsoleAssets(): string {
  const fromSource = import.meta.url.endsWith(".ts");
  return fileURLToPath(new URL(fromSource ? "../../../dist/console-web/" : "../../../console-web/", import.meta.url));
}

/**
 * The operator console's static files under /console/. They are public (the pages hold no data); every call the
 * pages make carries the signed-in key and is authorised like any API call.
 */
export const consoleRoutes: FastifyPluginAsync<{ assets: string }> = async (app, { assets }) => {
  app.get("/console", { schema: { hide: true } }, async (_request, reply) => reply.redirect("/console/", 302));
  if (!existsSync(join(assets, "index.html"))) {
    app.get("/console/*", { schema: { hide: true } }, async () => {
      throw new ServingError("ERR_CONSOLE_NOT_BUILT", `no console files in ${assets}: run \`npm run build\`, or point console.assets at a built console`);
    });
    return;
  }
  await app.register(fastifyStatic, { root: assets, prefix: "/console/", index: ["index.html"], cacheControl: true, maxAge: 0, schemaHide: true });
};
