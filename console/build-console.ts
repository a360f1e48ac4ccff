import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const fromSource = import.meta.url.endsWith(".ts");
/** The console's sources (console/ at the package root), found from this file in the source tree or in dist. */
const SOURCE = fileURLToPath(new URL(fromSource ? "./" : "../../console/", import.meta.url));
/** Where the server looks by default (see server/http/routes/console.ts). */
export const CONSOLE_OUT = fileURLToPath(new URL(fromSource ? "../dist/console-web/" : "../console-web/", import.meta.url));

/** Bundles the console (Preact + Chart.js, no CDN) into one script beside its page and style sheet. */
export async function buildConsole(outDir: string = CONSOLE_OUT): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(SOURCE, "app", "main.tsx")],
    outfile: join(outDir, "console.js"),
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "linked",
    logLevel: "warning",
  });
  await copyFile(join(SOURCE, "index.html"), join(outDir, "index.html"));
  await copyFile(join(SOURCE, "console.css"), join(outDir, "console.css"));
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(`console built in ${await buildConsole()}`);
}
