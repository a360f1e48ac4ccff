import { describe, expect, it } from "vitest";
import { StopText } from "../../server/backends/gguf/stop-text.js";

const feed = (stops: string[], pieces: string[]) => {
  const s = new StopText(stops);
  let streamed = "";
  let stopped = false;
  for (const piece of pieces) {
    const r = s.push(piece);
    streamed += r.stream;
    stopped = r.stopped;
    if (stopped) break;
  }
  if (!stopped) streamed += s.flush();
  return { text: s.text, streamed, stopped };
};

describe("a reply's text cut at its first stop string", () => {
  it("cuts before a stop string that spans pieces, and never streams any of it", () => {
    expect(feed(["\nUser:"], ["Hello", " there\nUs", "er: more"])).toEqual({ text: "Hello there", streamed: "Hello there", stopped: true });
  });

  it("holds back only what may begin a stop string, and gives it back when it does not", () => {
    const s = new StopText(["END"]);
    expect(s.push("abcE").stream).toBe("abc");
    expect(s.push("N").stream).toBe("");
    expect(s.push("x").stream).toBe("ENx");
    expect(s.flush()).toBe("");
    expect(s.text).toBe("abcENx");
  });

  it("takes the earliest of several stop strings, and ignores empty ones", () => {
    expect(feed(["", "cd", "b"], ["abcd"])).toEqual({ text: "a", streamed: "a", stopped: true });
    expect(feed([""], ["abc"])).toEqual({ text: "abc", streamed: "abc", stopped: false });
  });

  it("flushes a held-back end when the reply ends without the stop string", () => {
    expect(feed(["STOP"], ["one ST"])).toEqual({ text: "one ST", streamed: "one ST", stopped: false });
  });
});
