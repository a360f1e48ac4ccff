/** One labelled text. `category` is an optional finer group (e.g. the corpus folder) for per-category scores. */
export interface LabelledExample {
  id: string;
  text: string;
  label: string;
  category?: string;
  /** Arrival time (ms since the epoch) when the data has one: the order a stream replays it in. */
  receivedAt?: number;
}

export interface DatasetSplits {
  train: LabelledExample[];
  validation: LabelledExample[];
  test: LabelledExample[];
  /** How many examples were dropped because their normalised text also appeared in another split. */
  duplicatesRemoved: number;
  protocol: string;
}
