/**
 * Limits of a tool call: what the tool declares, clamped to the policy's maximum (set by the user
 * in mirador.config.yaml, `builtins: { tools: { max_timeout_ms, … } }`, defaults in
 * schemas/plugins/tools.schema.json). A tool file can ask for less than the policy allows, never more.
 */
import type { SandboxLimits } from './sandbox/types.js'

export interface ToolsPolicy {
  max_timeout_ms: number
  max_memory_mb: number
  max_output_bytes: number
  /** rounds of tool calls a stage may make unless it says fewer */
  max_rounds: number
}

/** What a tool gets when it declares nothing. */
export const LIMIT_DEFAULTS: SandboxLimits = { timeoutMs: 2000, memoryMb: 32, maxOutputBytes: 64 * 1024 }

export function clampLimits(
  declared: { timeout_ms?: number; memory_mb?: number; max_output_bytes?: number } | undefined,
  policy: ToolsPolicy,
): SandboxLimits {
  return {
    timeoutMs: Math.min(declared?.timeout_ms ?? LIMIT_DEFAULTS.timeoutMs, policy.max_timeout_ms),
    memoryMb: Math.min(declared?.memory_mb ?? LIMIT_DEFAULTS.memoryMb, policy.max_memory_mb),
    maxOutputBytes: Math.min(declared?.max_output_bytes ?? LIMIT_DEFAULTS.maxOutputBytes, policy.max_output_bytes),
  }
}
