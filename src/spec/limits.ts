/**
 * Limits on what the loader reads, so a hostile or broken fleet repository cannot exhaust memory or time:
 * a pull request's spec is read before anyone has reviewed it.
 */

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
}

/** The limits bosun uses unless a caller passes others. Generous for any real fleet. */
export const DEFAULT_LIMITS: Readonly<SpecLimits> = {
  maxFileBytes: 1024 * 1024,
  maxFiles: 10_000,
  maxDocumentsPerFile: 1_000,
  maxAliases: 100,
  maxNodes: 100_000,
  maxDepth: 64,
};
