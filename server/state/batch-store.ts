/** What a file is for: uploaded batch input, or a batch's output and error lines. */
export type FilePurpose = "batch" | "batch_output";

export interface StoredFile {
  id: string;
  tenant: string;
  purpose: FilePurpose;
  filename: string;
  bytes: number;
  /** Unix seconds. */
  createdAt: number;
}

export type BatchStatus = "validating" | "in_progress" | "finalizing" | "completed" | "failed" | "expired" | "cancelling" | "cancelled";

export interface BatchError {
  code: string;
  message: string;
  line?: number;
}

export interface StoredBatch {
  id: string;
  tenant: string;
  endpoint: string;
  inputFileId: string;
  completionWindow: string;
  status: BatchStatus;
  outputFileId: string | null;
  errorFileId: string | null;
  /** Unix seconds; null until the status is reached. */
  createdAt: number;
  inProgressAt: number | null;
  expiresAt: number | null;
  finalizingAt: number | null;
  completedAt: number | null;
  failedAt: number | null;
  expiredAt: number | null;
  cancellingAt: number | null;
  cancelledAt: number | null;
  total: number;
  completed: number;
  failed: number;
  metadata: Record<string, string> | null;
  /** Why the whole batch failed, when it did. */
  errors: BatchError[] | null;
}

export type BatchPatch = Partial<Omit<StoredBatch, "id" | "tenant" | "endpoint" | "inputFileId" | "createdAt">>;

/** Records of the Batch API's files and jobs; the contents live in the files folder. Asynchronous for a shared store. */
export interface BatchStore {
  addFile(file: StoredFile): Promise<void>;
  getFile(id: string): Promise<StoredFile | undefined>;
  listFiles(tenant: string, limit: number): Promise<StoredFile[]>;
  deleteFile(id: string): Promise<void>;
  setFileBytes(id: string, bytes: number): Promise<void>;
  addBatch(batch: StoredBatch): Promise<void>;
  getBatch(id: string): Promise<StoredBatch | undefined>;
  /** Newest first; `after` is the id of the last batch of the previous page. */
  listBatches(tenant: string, limit: number, after?: string): Promise<StoredBatch[]>;
  updateBatch(id: string, patch: BatchPatch): Promise<StoredBatch>;
  /** Jobs not yet ended, oldest first: what a restarted server resumes. */
  openBatches(): Promise<StoredBatch[]>;
}
