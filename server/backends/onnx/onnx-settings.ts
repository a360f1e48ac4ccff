import { z } from "zod";

/** model.json's `onnx` block. */
export const OnnxSettings = z
  .object({
    /** Name of the ONNX output holding [batch, labels] logits. */
    outputName: z.string().min(1).default("logits"),
  })
  .strict();

export type OnnxSettings = z.output<typeof OnnxSettings>;
