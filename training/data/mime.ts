import PostalMime from "postal-mime";
import { convert } from "html-to-text";

const HTML_OPTIONS = {
  wordwrap: false as const,
  selectors: [
    { selector: "a", options: { ignoreHref: true } },
    { selector: "img", format: "skip" },
  ],
};

export interface ParsedEmail {
  /** Subject + decoded body. Headers are left out: they identify the collection, not the content. */
  text: string;
  /** When the recipient's server received it (the newest `Received` header), ms since the epoch; undefined when absent. */
  receivedAt?: number;
}

/** A raw RFC 822 message → the text a model sees and its arrival time. */
export async function parseEmail(raw: string): Promise<ParsedEmail> {
  // mbox archives start each message with a "From " envelope line that is not a header.
  const message = await PostalMime.parse(raw.replace(/^From [^\n]*\n/, ""));
  let body = message.text ?? "";
  if (!body.trim() && message.html) body = htmlToText(message.html);
  const text = `${message.subject ?? ""}\n${body}`.trim();
  const receivedAt = receivedTime(message.headers.find((h) => h.key === "received")?.value);
  return receivedAt === undefined ? { text } : { text, receivedAt };
}

/** Subject + decoded body of a raw RFC 822 message. */
export async function emailToText(raw: string): Promise<string> {
  return (await parseEmail(raw)).text;
}

/** The date after the last `;` of a Received header (RFC 5322 §3.6.7); the sender's own `Date:` can be anything. */
function receivedTime(received: string | undefined): number | undefined {
  const date = received?.slice(received.lastIndexOf(";") + 1).replace(/\([^)]*\)/g, "").trim();
  const time = date ? Date.parse(date) : NaN;
  return Number.isFinite(time) ? time : undefined;
}

export function htmlToText(html: string): string {
  return convert(html, HTML_OPTIONS);
}
