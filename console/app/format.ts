export const percent = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(digits)}%`);
export const usd = (x: number) => `$${x < 0.01 && x > 0 ? x.toFixed(5) : x.toFixed(2)}`;
export const ms = (x: number | null | undefined) => (x === null || x === undefined ? "–" : `${x.toFixed(0)} ms`);
export const time = (iso: string) => new Date(iso).toLocaleTimeString();
