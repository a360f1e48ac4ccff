import PostalMime from "postal-mime";
import { convert } from "html-to-text";

const HTML_OPTIONS = {
  wordwrap: false as const,
  selectors: [
    { selector: "a", options: { ignoreHref: true } },
    { selector: "img", format: "skip" },
  ],
};

/** Subject + decoded body of a raw RFC 822 message. Headers are left out: they identify the collection, not the content. */
export async function emailToText(raw: string): Promise<string> {
  // mbox archives start each message with a "From " envelope line that is not a header.
  const message = await PostalMime.parse(raw.replace(/^From [^\n]*\n/, ""));
  let body = message.text ?? "";
  if (!body.trim() && message.html) body = htmlToText(message.html);
  return `${message.subject ?? ""}\n${body}`.trim();
}

export function htmlToText(html: string): string {
  return convert(html, HTML_OPTIONS);
}
