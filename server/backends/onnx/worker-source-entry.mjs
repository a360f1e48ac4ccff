// Entry for the worker when the server runs from its TypeScript sources (tests, `tsx`). On Node 20 a worker does
// not inherit the parent's module hooks and `--import tsx` in a worker's execArgv is not honoured, so the worker
// registers tsx itself before loading the real worker module. Built code never uses this file.
import { register } from "tsx/esm/api";

register();
const worker = await import("./worker.ts");
export default worker.default;
