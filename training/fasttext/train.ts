import { createRng, shuffleInPlace } from "../random.js";
import { calibratedSoftmax } from "../../server/backends/classification-scores.js";
import { createFastText, linear, pool, poolingScale, type FastTextModel, type FastTextShape } from "./model.js";

export interface TrainingExample {
  rows: Int32Array;
  label: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Epochs without a better validation loss before stopping. */
  patience: number;
  /** L2 penalty on the rows a batch touches (lazy, like the updates). */
  weightDecay: number;
  /** `balanced`: each class weighs as much as the others in the loss, whatever its frequency. */
  classWeights: "none" | "balanced";
  seed: number;
  onEpoch?: (progress: { epoch: number; trainLoss: number; validationLoss: number; best: boolean }) => void;
}

export interface TrainResult {
  model: FastTextModel;
  epochsRun: number;
  bestEpoch: number;
  bestValidationLoss: number;
}

function classWeightsOf(examples: TrainingExample[], classes: number, mode: TrainOptions["classWeights"]): Float64Array {
  const weights = new Float64Array(classes).fill(1);
  if (mode === "none") return weights;
  const counts = new Float64Array(classes);
  for (const e of examples) counts[e.label]!++;
  for (let c = 0; c < classes; c++) weights[c] = counts[c]! > 0 ? examples.length / (classes * counts[c]!) : 0;
  return weights;
}

export function meanLoss(model: FastTextModel, examples: TrainingExample[]): number {
  const pooled = new Float32Array(model.dim);
  const logits = new Float32Array(model.classes);
  let total = 0;
  for (const e of examples) {
    pool(model, e.rows, pooled);
    linear(model, pooled, logits);
    total -= Math.log(Math.max(calibratedSoftmax(logits)[e.label]!, 1e-12));
  }
  return total / Math.max(1, examples.length);
}

/**
 * Mini-batch Adam with lazy (row-sparse) updates of the embedding table: only the rows a batch touches move,
 * which keeps an epoch over thousands of long emails well under a second.
 */
export function trainFastText(
  shape: FastTextShape,
  train: TrainingExample[],
  validation: TrainingExample[],
  options: TrainOptions,
): TrainResult {
  const model = createFastText(shape, options.seed);
  const { dim, classes } = shape;
  const rng = createRng(options.seed + 7);
  const classWeight = classWeightsOf(train, classes, options.classWeights);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  const mE = new Float32Array(model.embeddings.length);
  const vE = new Float32Array(model.embeddings.length);
  const mW = new Float32Array(model.weights.length);
  const vW = new Float32Array(model.weights.length);
  const mB = new Float32Array(classes);
  const vB = new Float32Array(classes);
  let step = 0;

  let best = { loss: Infinity, epoch: 0, embeddings: model.embeddings.slice(), weights: model.weights.slice(), bias: model.bias.slice() };
  const pooled = new Float32Array(dim);
  const logits = new Float32Array(classes);
  const gradW = new Float32Array(dim * classes);
  const gradB = new Float32Array(classes);
  const gradPooled = new Float32Array(dim);
  const rowGrads = new Map<number, Float32Array>();
  const order = train.map((_, i) => i);
  let epochsRun = 0;

  const adam = (param: Float32Array, m: Float32Array, v: Float32Array, index: number, grad: number, lr: number) => {
    m[index] = beta1 * m[index]! + (1 - beta1) * grad;
    v[index] = beta2 * v[index]! + (1 - beta2) * grad * grad;
    param[index]! -= (lr * m[index]!) / (Math.sqrt(v[index]!) + eps);
  };

  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    epochsRun = epoch;
    shuffleInPlace(order, rng);
    let trainLoss = 0;
    for (let start = 0; start < order.length; start += options.batchSize) {
      const batch = order.slice(start, start + options.batchSize);
      gradW.fill(0);
      gradB.fill(0);
      rowGrads.clear();
      let batchWeight = 0;
      for (const index of batch) {
        const example = train[index]!;
        const w = classWeight[example.label]!;
        batchWeight += w;
        pool(model, example.rows, pooled);
        linear(model, pooled, logits);
        const probs = calibratedSoftmax(logits);
        trainLoss -= Math.log(Math.max(probs[example.label]!, 1e-12));
        gradPooled.fill(0);
        for (let c = 0; c < classes; c++) {
          const g = w * (probs[c]! - (c === example.label ? 1 : 0));
          gradB[c]! += g;
          for (let d = 0; d < dim; d++) {
            gradW[d * classes + c]! += g * pooled[d]!;
            gradPooled[d]! += g * model.weights[d * classes + c]!;
          }
        }
        const share = poolingScale(shape, example.rows.length);
        for (let r = 0; r < example.rows.length; r++) {
          const row = example.rows[r]!;
          let grad = rowGrads.get(row);
          if (!grad) rowGrads.set(row, (grad = new Float32Array(dim)));
          for (let d = 0; d < dim; d++) grad[d]! += gradPooled[d]! * share;
        }
      }
      step++;
      const scale = 1 / Math.max(batchWeight, 1e-12);
      const lr = (options.learningRate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
      for (let i = 0; i < gradW.length; i++) adam(model.weights, mW, vW, i, gradW[i]! * scale + options.weightDecay * model.weights[i]!, lr);
      for (let c = 0; c < classes; c++) adam(model.bias, mB, vB, c, gradB[c]! * scale, lr);
      for (const [row, grad] of rowGrads) {
        const offset = row * dim;
        for (let d = 0; d < dim; d++) {
          adam(model.embeddings, mE, vE, offset + d, grad[d]! * scale + options.weightDecay * model.embeddings[offset + d]!, lr);
        }
      }
    }
    const validationLoss = meanLoss(model, validation);
    const improved = validationLoss < best.loss;
    if (improved) {
      best = { loss: validationLoss, epoch, embeddings: model.embeddings.slice(), weights: model.weights.slice(), bias: model.bias.slice() };
    }
    options.onEpoch?.({ epoch, trainLoss: trainLoss / Math.max(1, train.length), validationLoss, best: improved });
    if (epoch - best.epoch >= options.patience) break;
  }
  model.embeddings.set(best.embeddings);
  model.weights.set(best.weights);
  model.bias.set(best.bias);
  return { model, epochsRun, bestEpoch: best.epoch, bestValidationLoss: best.loss };
}
