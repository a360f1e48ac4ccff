/**
 * A reply's text as it is generated, cut at the first stop string. What may still turn out to be the start of a stop
 * string is held back from streaming until the next piece says whether it is one (OpenAI's and llama-server's
 * semantics: a stop string and what follows never reach the caller).
 */
export class StopText {
  private readonly stops: string[];
  private readonly longest: number;
  private value = "";
  private streamed = 0;
  private stopped = false;

  constructor(stops: readonly string[]) {
    this.stops = [...new Set(stops.filter((s) => s.length > 0))];
    this.longest = Math.max(0, ...this.stops.map((s) => s.length));
  }

  /** Adds a piece of text; returns what can be streamed now, and whether a stop string has ended the reply. */
  push(piece: string): { stream: string; stopped: boolean } {
    if (this.stopped) return { stream: "", stopped: true };
    // A stop string found now ends in this piece: it starts at most `longest - 1` characters before it.
    const from = Math.max(0, this.value.length - this.longest + 1);
    this.value += piece;
    let at = -1;
    for (const stop of this.stops) {
      const found = this.value.indexOf(stop, from);
      if (found >= 0 && (at < 0 || found < at)) at = found;
    }
    if (at >= 0) {
      this.value = this.value.slice(0, at);
      this.stopped = true;
      return { stream: this.take(this.value.length), stopped: true };
    }
    return { stream: this.take(this.value.length - this.heldBack()), stopped: false };
  }

  /** The reply's end without a stop string: what was held back. */
  flush(): string {
    return this.take(this.value.length);
  }

  /** The reply so far, without the stop string. */
  get text(): string {
    return this.value;
  }

  /** The longest end of the text that begins a stop string. */
  private heldBack(): number {
    const limit = Math.min(this.longest - 1, this.value.length - this.streamed);
    for (let n = limit; n > 0; n--) {
      const tail = this.value.slice(this.value.length - n);
      if (this.stops.some((stop) => stop.startsWith(tail))) return n;
    }
    return 0;
  }

  private take(until: number): string {
    const out = until > this.streamed ? this.value.slice(this.streamed, until) : "";
    this.streamed = Math.max(this.streamed, until);
    return out;
  }
}
