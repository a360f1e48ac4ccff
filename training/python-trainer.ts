import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A Python file under training/ (e.g. "gguf/train_llama.py"): not compiled, so from dist/ it is found in the sources. */
export function trainingScript(path: string): string {
  return fileURLToPath(new URL(import.meta.url.includes("/dist/") ? `../../training/${path}` : `./${path}`, import.meta.url));
}

/**
 * Runs a PyTorch training step (Debian's python3-torch) that prints one JSON object per line, passing those with an
 * `epoch` on as progress; resolves with every line once the script exits 0.
 */
export function runPythonTrainer(python: string, script: string, args: string[], onEpoch: (line: Record<string, number>) => void): Promise<Record<string, number>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const lines: Record<string, number>[] = [];
    let stderr = "";
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const part of parts) {
        if (!part.trim()) continue;
        const line = JSON.parse(part) as Record<string, number>;
        lines.push(line);
        if (line.epoch) onEpoch(line);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.once("error", (error) => reject(new Error(`cannot run ${python} (install Debian's python3-torch): ${error.message}`)));
    child.once("exit", (code) => (code === 0 ? resolve(lines) : reject(new Error(`${python} ${script} failed (exit ${code}):\n${stderr.slice(-2000)}`))));
  });
}
