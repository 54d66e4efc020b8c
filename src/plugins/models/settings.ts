/** The settings each runtime is created with: manifest entry first, then config, then defaults. */
import type { ManifestEntry } from '../../engine/config/index.js'
import type { EngineSettings } from '../../engine/engine.js'

export function runtimeSettings(
  engine: Readonly<EngineSettings>,
  runtime: string,
  entry?: ManifestEntry,
): Record<string, unknown> {
  const config = engine.config
  if (runtime === 'llamacpp') {
    const threads = entry?.threads ?? config.llamacpp?.threads
    const contextSize = entry?.context_size ?? config.llamacpp?.context_size
    return { ...(threads !== undefined ? { threads } : {}), ...(contextSize !== undefined ? { contextSize } : {}) }
  }
  const o = config.ollama ?? {}
  const host = entry?.host ?? o.host
  return {
    ...(host !== undefined ? { host } : {}),
    ...(o.first_token_timeout_ms !== undefined ? { firstTokenTimeoutMs: o.first_token_timeout_ms } : {}),
    ...(o.idle_timeout_ms !== undefined ? { idleTimeoutMs: o.idle_timeout_ms } : {}),
    ...(o.pull !== undefined ? { pull: o.pull } : {}),
    offline: engine.offline,
  }
}
