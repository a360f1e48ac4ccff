/**
 * How many of the calls a stand-in frontier received have no write-ahead row. Each request's text is `${base} #N`;
 * a call is matched to its request on the whole number, since "#1" is also the start of "#12".
 */
export function countCallsWithoutRow(options: {
  base: string;
  callTexts: string[];
  /** Each sent text and the request id it went with. */
  requestOfText: Map<string, string>;
  /** Request ids that have a write-ahead row. */
  rowRequests: Set<string>;
}): number {
  const sentText = new RegExp(`${options.base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} #\\d+`);
  return options.callTexts.filter((text) => {
    const requestId = options.requestOfText.get(text.match(sentText)?.[0] ?? "");
    return requestId === undefined || !options.rowRequests.has(requestId);
  }).length;
}
