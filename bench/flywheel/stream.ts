import { performance } from "node:perf_hooks";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { openLoop, type LoadResult } from "../load/load-generator.js";

/** What the server answered for one arrival. */
export interface Arrival {
  /** Place in the whole period-2 stream. */
  index: number;
  gold: string;
  /** The answer served (the frontier's when escalated and answered). */
  label: string;
  /** What the specialist alone said. */
  specialistLabel: string;
  escalated: boolean;
  servedBy: string;
  version: string;
  status: number;
}

interface ClassifyAnswer {
  version: string;
  results: Array<{ label: string; specialist_label: string; escalated: boolean; served_by: string }>;
}

/**
 * Sends examples in order through `/v1/classify` (route cascade) at a fixed arrival rate (open loop), and calls
 * `onArrival` with each answer as it comes. `position()` is the index of the arrival due now, while it runs.
 */
export class Stream {
  private start = 0;
  private rate = 1;
  private offset = 0;
  private end = 0;

  /** Between runs, where the last one ended. */
  position(): number {
    return Math.min(this.end, this.offset + Math.floor(((performance.now() - this.start) / 1000) * this.rate));
  }

  async run(
    origin: string,
    model: string,
    examples: LabelledExample[],
    options: { rate: number; offset: number; onArrival?: (arrival: Arrival) => void },
  ): Promise<{ arrivals: Arrival[]; load: LoadResult }> {
    const bodies = examples.map((e) => JSON.stringify({ model, input: e.text, route: "cascade" }));
    const arrivals: Arrival[] = new Array(examples.length);
    this.start = performance.now();
    this.rate = options.rate;
    this.offset = options.offset;
    this.end = options.offset + examples.length;
    const load = await openLoop({ origin, path: "/v1/classify", bodies, durationSeconds: examples.length / options.rate, warmupSeconds: 0 }, options.rate, 2048, (i, status, body) => {
      const answer = status === 200 ? (JSON.parse(body) as ClassifyAnswer) : undefined;
      const result = answer?.results[0];
      const arrival: Arrival = {
        index: options.offset + i,
        gold: examples[i]!.label,
        label: result?.label ?? "<error>",
        specialistLabel: result?.specialist_label ?? "<error>",
        escalated: result?.escalated ?? false,
        servedBy: result?.served_by ?? "none",
        version: answer?.version ?? "",
        status,
      };
      arrivals[i] = arrival;
      options.onArrival?.(arrival);
    });
    return { arrivals, load };
  }
}
