/**
 * glibc malloc settings the server runs with (Dockerfile.cuda, `npm start`, the child servers of benches and tests).
 * By default glibc raises its mmap threshold each time a large block is freed, so later request bodies (up to 1 MiB
 * here, up to 32 MiB in general) come from the heap and fragment it: under `bench fuzz` the server's RSS grew by
 * 430 MiB over 100,000 requests while its JS heap stayed level. A fixed mmap threshold keeps large blocks in their
 * own mappings, returned on free, and a low trim threshold gives freed heap back to the system.
 */
export const SERVER_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: "131072", MALLOC_TRIM_THRESHOLD_: "131072" } as const;
