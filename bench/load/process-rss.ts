import { readFile } from "node:fs/promises";

/**
 * A process's resident memory in MiB, read by the kernel (/proc/<pid>/status): the same measure for a Node server
 * and a native one, so two servers' figures compare. `peak` is VmHWM, the most it has held since it started.
 */
export async function processRssMib(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]) / 1024;
  };
  return { now: kib("VmRSS"), peak: kib("VmHWM") };
}
