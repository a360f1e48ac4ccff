/** One frontier answer kept for near-duplicates, as replicas pass it around: the cache's own encoding, opaque here. */
export interface SharedAnswer {
  /** Whose answer and for which model version: the cache never serves it elsewhere. */
  shelf: string;
  /** The cache's encoding of the text's key and the answer. */
  payload: string;
  /** Unix ms after which it must not be reused. */
  expires: number;
}

/**
 * The semantic cache's answers shared by a fleet's replicas: an answer the frontier gave one replica spares a frontier
 * call on every other. Each replica keeps its own in-process index (a lookup never waits on the network); this
 * only carries new answers between them, and gives a replica that starts the answers already shared.
 */
export interface AnswerShare {
  /** Offers this replica's new answer to the others; best effort (the answer is in this replica's index anyway). */
  publish(answer: SharedAnswer): void;
  /** Calls `receive` with the answers already shared, then with each new one another replica publishes. */
  subscribe(receive: (answer: SharedAnswer) => void): Promise<void>;
  close(): Promise<void>;
}

/** One process: there is no other replica to share with. */
export class LocalAnswerShare implements AnswerShare {
  publish(): void {}

  async subscribe(): Promise<void> {}

  async close(): Promise<void> {}
}
