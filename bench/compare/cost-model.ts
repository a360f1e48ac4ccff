/** USD per million tokens, as in the server's price table. */
export interface TokenPrice {
  inputUsdPerMTok: number;
  outputUsdPerMTok: number;
}

/** The assumptions of a cost projection; every report prints them. */
export interface CostSettings {
  /** Price of the host that runs the specialist (GPU or CPU), USD per hour. */
  hostUsdPerHour: number;
  /** Share of the measured capacity a host is run at (head-room for peaks). */
  utilisation: number;
  /** The workload projected: requests per day and tokens per request (the input's own tokens). */
  requestsPerDay: number;
  tokensPerRequest: number;
  daysPerMonth: number;
}

export const DEFAULT_COSTS: CostSettings = {
  hostUsdPerHour: 0.1,
  utilisation: 0.5,
  // The classic case: 100,000 emails a day at about 1,500 tokens each.
  requestsPerDay: 100_000,
  tokensPerRequest: 1_500,
  daysPerMonth: 30,
};

/** The specialist's cost of one request: the host's price spread over the requests it serves at the utilisation. */
export function hostUsdPerRequest(settings: CostSettings, capacityPerSecond: number): number {
  return settings.hostUsdPerHour / (capacityPerSecond * settings.utilisation * 3600);
}

/** One frontier call for a workload request: its tokens plus the prompt around them, and the answer's tokens. */
export function frontierUsdPerWorkloadRequest(price: TokenPrice, settings: CostSettings, promptOverheadTokens: number, outputTokens: number): number {
  return ((settings.tokensPerRequest + promptOverheadTokens) * price.inputUsdPerMTok + outputTokens * price.outputUsdPerMTok) / 1_000_000;
}

export interface MonthlyCost {
  hosts: number;
  hostUsd: number;
  frontierUsd: number;
  totalUsd: number;
}

/**
 * A month of the workload: hosts enough for its mean rate at the utilisation (at least one when the specialist
 * runs at all), and a frontier call for the escalated share of requests.
 */
export function monthlyCost(
  settings: CostSettings,
  arm: { usesSpecialist: boolean; escalationRate: number; capacityPerSecond: number; frontierUsdPerCall: number },
): MonthlyCost {
  const requests = settings.requestsPerDay * settings.daysPerMonth;
  const meanRate = settings.requestsPerDay / 86_400;
  const hosts = arm.usesSpecialist ? Math.max(1, Math.ceil(meanRate / (arm.capacityPerSecond * settings.utilisation))) : 0;
  const hostUsd = hosts * settings.hostUsdPerHour * 24 * settings.daysPerMonth;
  const frontierUsd = requests * arm.escalationRate * arm.frontierUsdPerCall;
  return { hosts, hostUsd, frontierUsd, totalUsd: hostUsd + frontierUsd };
}
