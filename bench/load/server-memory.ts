/** The server's resident memory in MiB, from prom-client's `process_resident_memory_bytes` on its /metrics. */
export async function residentMib(origin: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const match = /^process_resident_memory_bytes (\S+)$/m.exec(text);
  if (!match) throw new Error("the server's /metrics has no process_resident_memory_bytes (metrics.defaultMetrics is off?)");
  return Number(match[1]) / 2 ** 20;
}
