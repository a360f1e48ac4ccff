import type { Command } from "commander";
import { loadConfig } from "../config/load-config.js";
import type { ServerConfigInput } from "../config/schema.js";
import { startServer } from "../http/start-server.js";

interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  repository?: string;
  model?: string[];
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("Serve the models of a model repository over HTTP (POST /v1/classify, GET /v1/models, /metrics).")
    .option("-c, --config <file>", "configuration file, YAML or JSON (default: $SPECIALIST_CONFIG)")
    .option("--host <address>", "address to listen on (default 127.0.0.1)")
    .option("-p, --port <port>", "port to listen on (default 8080; 0 picks a free port)")
    .option("--repository <dir>", "model repository folder (default ./models)")
    .option("-m, --model <name...>", "serve only these models (default: all in the repository)")
    .action(async (flags: ServeFlags) => {
      const overrides: ServerConfigInput = {};
      if (flags.host !== undefined || flags.port !== undefined) {
        overrides.server = {
          ...(flags.host !== undefined ? { host: flags.host } : {}),
          ...(flags.port !== undefined ? { port: Number(flags.port) } : {}),
        };
      }
      if (flags.repository !== undefined || flags.model !== undefined) {
        overrides.models = {
          ...(flags.repository !== undefined ? { repository: flags.repository } : {}),
          ...(flags.model !== undefined ? { serve: flags.model } : {}),
        };
      }
      const config = loadConfig({ file: flags.config, overrides });
      const server = await startServer(config);
      server.app.log.info(`listening on ${server.url}`);
      const stop = (signal: string) => {
        server.app.log.info(`${signal} received: draining and shutting down`);
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            server.app.log.error(error, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
}
