/**
 * The external programs `bosun plan` and `bosun apply` run, with the environment variable that names each
 * one. This is the one list: `resolveTool` accepts no other name (so a new tool cannot be resolved without
 * being added here), and the sandbox's binary catalogue builds every program on it for the commands that
 * need it (`bosun sandbox binaries --for plan|apply|demo|…`, `npm run setup`, the demo, the test setup).
 */
export const PLAN_APPLY_TOOLS = {
  helm: "BOSUN_HELM",
  kustomize: "BOSUN_KUSTOMIZE",
} as const;

/** A program plan or apply resolves. */
export type ToolName = keyof typeof PLAN_APPLY_TOOLS;

/** The names of {@link PLAN_APPLY_TOOLS}, in a fixed order. */
export const PLAN_APPLY_TOOL_NAMES: readonly ToolName[] = Object.keys(PLAN_APPLY_TOOLS).sort() as ToolName[];
