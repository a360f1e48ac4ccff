import type { z } from "zod";
import type { ModelManifest } from "../models/manifest.js";
import type { BackendFactory } from "./backend.js";

/** Reports a problem at a path inside model.json. */
export type ManifestIssue = (path: Array<string | number>, message: string) => void;

/**
 * One kind of backend: how it is named in model.json, the settings block it owns there, and how to load it.
 * A new backend is a folder under backends/ with one of these, and one line in the registry.
 */
export interface BackendKind<Settings extends z.ZodObject = z.ZodObject> {
  /** The manifest's `format`; also the key of this backend's block in model.json and in `models.overrides.<name>`. */
  readonly format: string;
  /** The block's schema: validated (with its defaults) whether or not model.json has the block. */
  readonly settings: Settings;
  /** The model file when model.json gives no `artifacts.model`. */
  readonly defaultArtifact: string;
  /** Top-level model.json keys of earlier releases that now live in the block; read when the block does not set them. */
  readonly legacyKeys?: readonly string[];
  /** Rules that span the manifest and the block (labels, replicas). */
  check?(manifest: Omit<ModelManifest, "backend">, settings: z.output<Settings>, issue: ManifestIssue): void;
  readonly create: BackendFactory;
}
