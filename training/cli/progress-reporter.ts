import cliProgress from "cli-progress";

export interface ProgressEvent {
  stage: string;
  epoch?: number;
  epochs?: number;
  detail?: string;
}

/** A bar for the epochs on a terminal, one line per stage otherwise; nothing with --no-progress. */
export function progressReporter(enabled: boolean): { update: (event: ProgressEvent) => void; stop: () => void } {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: "train [{bar}] epoch {value}/{total} {detail}", stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  let barStarted = false;
  const stop = () => {
    if (barStarted) bar?.stop();
    barStarted = false;
  };
  return {
    update: (event) => {
      if (event.stage !== "train") {
        stop();
        console.error(`${event.stage}…`);
      } else if (bar) {
        if (!barStarted) bar.start(event.epochs ?? 0, 0, { detail: "" });
        barStarted = true;
        bar.update(event.epoch ?? 0, { detail: event.detail ?? "" });
      } else {
        console.error(`epoch ${event.epoch}/${event.epochs} ${event.detail ?? ""}`);
      }
    },
    stop,
  };
}

