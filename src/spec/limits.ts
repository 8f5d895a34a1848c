/**
 * Limits on what the loader reads, so a hostile or broken fleet repository cannot exhaust memory or time:
 * a pull request's spec is read before anyone has reviewed it.
 */
import { DEFAULT_YAML_LIMITS, type YamlLimits } from "../bounded-yaml.js";

/** Limits on the fleet repository's spec files. */
export interface SpecLimits {
  /** Largest spec or values file read, in bytes. */
  maxFileBytes: number;
  /** Most spec files (fleet.yaml and clusters/**) read. */
  maxFiles: number;
  /** Most YAML documents in one file. */
  maxDocumentsPerFile: number;
  /** Most alias uses (`*name`) in one document; each alias copies its anchor's value (the "billion laughs"). */
  maxAliases: number;
  /** Most YAML nodes one document may expand to, aliases included. */
  maxNodes: number;
  /** Deepest nesting of maps and lists in one document. */
  maxDepth: number;
  /** Most bytes of YAML (spec files, values files, Chart.yaml) one load reads in total. */
  maxTotalBytes: number;
  /** Most YAML nodes one load builds in total, across every file. */
  maxTotalNodes: number;
  /**
   * Most entries (files, directories, links) under one local chart or kustomize directory, and in
   * `clusters/`. A tree with more is refused, never checked only in part.
   */
  maxTreeEntries: number;
}

/** The limits bosun uses unless a caller passes others. Generous for any real fleet. */
export const DEFAULT_LIMITS: Readonly<SpecLimits> = {
  maxFileBytes: DEFAULT_YAML_LIMITS.maxBytes,
  maxFiles: 10_000,
  maxDocumentsPerFile: DEFAULT_YAML_LIMITS.maxDocuments,
  maxAliases: DEFAULT_YAML_LIMITS.maxAliases,
  maxNodes: DEFAULT_YAML_LIMITS.maxNodes,
  maxDepth: DEFAULT_YAML_LIMITS.maxDepth,
  maxTotalBytes: 16 * 1024 * 1024,
  maxTotalNodes: 1_000_000,
  maxTreeEntries: 10_000,
};

/** The per-file YAML limits of `limits`, for `parseBoundedYaml`. */
export function yamlLimits(limits: SpecLimits): YamlLimits {
  return {
    maxBytes: limits.maxFileBytes,
    maxDocuments: limits.maxDocumentsPerFile,
    maxAliases: limits.maxAliases,
    maxNodes: limits.maxNodes,
    maxDepth: limits.maxDepth,
  };
}
