/** The API's shapes the console reads (snake_case, as the server sends them). */
export interface Me {
  id: string;
  role: "user" | "admin";
  daily_budget_usd: number;
  escalations_per_minute: number;
  spend: { day: string; spent_usd: number; reserved_usd: number };
}

export interface ReviewItem {
  id: number;
  time: string;
  tenant: string;
  model: string;
  version: string;
  input_text: string | null;
  specialist_label: string;
  specialist_confidence: number;
  frontier_label: string | null;
  status: "open" | "resolved";
  human_label: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
}

export interface EscalationRecord {
  id: number;
  time: string;
  tenant: string;
  model: string;
  reason: string;
  provider: string | null;
  specialist_label: string;
  specialist_confidence: number;
  frontier_label: string | null;
  outcome: "answered" | "degraded";
  failure: string | null;
  message: string | null;
  cost_usd: number;
  latency_ms: number;
}

export interface EscalationStatus {
  enabled: boolean;
  price_table: string;
  providers: Array<{ name: string; kind: string; model: string; breaker: "closed" | "open" | "half_open" }>;
  tenants: Array<{ id: string; role: string; day: string; spent_usd: number; reserved_usd: number; daily_budget_usd: number }>;
}

export interface Placement {
  provider: string;
  device: string;
  workers: number;
  threads_per_worker: number;
}

export interface ModelInfo {
  id: string;
  name: string;
  version?: string;
  format?: string;
  task?: string;
  labels?: string[];
  threshold?: number;
  status: string;
  error?: { code: string; message: string };
  placement?: Placement;
  multi_label?: boolean;
  canary?: { version: string; share: number };
}

interface Latency {
  count: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
}

export interface CanaryReport {
  model: string;
  current_version: string;
  candidate_version: string;
  share: number;
  requests: number;
  compared: number;
  agreed: number;
  agreement: number | null;
  candidate_errors: number;
  latency: { candidate: Latency; current: Latency };
}

export interface ShadowReport {
  since: string;
  models: Array<{ model: string; version: string; calls: number; answered: number; agreement: number | null; cost_usd: number }>;
}

export interface DriftReport {
  model: string;
  version: string;
  window_minutes: number;
  answers: number;
  min_answers: number;
  reference: { source: string; count: number; label_shares: Record<string, number>; confidence_histogram: number[] | null; escalation_rate: number } | null;
  live: { label_shares: Record<string, number>; confidence_histogram: number[]; escalation_rate: number | null };
  psi: { labels: number | null; confidence: number | null };
  timeline: Array<{ start: string; answers: number; escalation_rate: number | null; label_shares: Record<string, number> }>;
}
