import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ServingError } from "../../errors/registry.js";

function validatorCommand(): string[] {
  // From the TypeScript sources (tests, tsx) the validator needs tsx; built, it is plain JavaScript.
  const fromSource = import.meta.url.endsWith(".ts");
  const file = fileURLToPath(new URL(fromSource ? "./gguf-validator.ts" : "./gguf-validator.js", import.meta.url));
  return fromSource ? ["--import", "tsx", file] : [file];
}

/**
 * Reads the file's vocabulary in a child process first: a file llama.cpp cannot parse gives its message, and one
 * that makes llama.cpp abort the process (a broken vocabulary) ends only the child.
 */
export function validateGgufInChild(path: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...validatorCommand(), path], { timeout: timeoutMs }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const said = stderr
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.length > 0)
        .slice(-3)
        .join("; ");
      const how = error.signal ? `llama.cpp aborted (${error.signal})` : error.killed ? `validation timed out after ${timeoutMs} ms` : "llama.cpp rejected it";
      reject(new ServingError("ERR_MODEL_LOAD_FAILED", `${path}: ${how}${said ? `: ${said}` : ""}`));
    });
  });
}
