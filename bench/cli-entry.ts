import { fileURLToPath } from "node:url";

/** The built CLI (dist/cli/main.js) that benchmarks start their servers with, from wherever the built bench runs. */
export const CLI_ENTRY = fileURLToPath(new URL("../cli/main.js", import.meta.url));
