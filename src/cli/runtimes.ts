/**
 * The built-in model back ends, registered with the settings each takes from Mirador's own
 * (config, already merged with flags and the environment by setup). A manifest entry's own
 * settings (its host, threads) go on top when a model asks for its runtime.
 */
import type { Engine, EngineSettings } from '../engine/engine.js'
import { createLlamaCpp } from '../runtimes/llamacpp/index.js'
import { createOllama } from '../runtimes/ollama/index.js'

function ollamaSettings(engine: Readonly<EngineSettings>): Record<string, unknown> {
  const o = engine.config.ollama ?? {}
  return {
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.first_token_timeout_ms !== undefined ? { firstTokenTimeoutMs: o.first_token_timeout_ms } : {}),
    ...(o.idle_timeout_ms !== undefined ? { idleTimeoutMs: o.idle_timeout_ms } : {}),
    ...(o.pull !== undefined ? { pull: o.pull } : {}),
    offline: engine.offline,
  }
}

function llamacppSettings(engine: Readonly<EngineSettings>): Record<string, unknown> {
  const l = engine.config.llamacpp ?? {}
  return {
    ...(l.threads !== undefined ? { threads: l.threads } : {}),
    ...(l.context_size !== undefined ? { contextSize: l.context_size } : {}),
    // debugging and test seams (docs/models.md): the prompt trace, and a forced first tool call
    ...(engine.env.MIRADOR_LLAMACPP_TRACE ? { trace: engine.env.MIRADOR_LLAMACPP_TRACE } : {}),
    ...(engine.env.MIRADOR_LLAMACPP_FORCE_TOOL_CALL === '1' ? { forceToolCall: true } : {}),
  }
}

export function registerBuiltinRuntimes(engine: Engine): void {
  engine.registerRuntime('ollama', (s) => createOllama(s), { settings: ollamaSettings })
  engine.registerRuntime('llamacpp', (s) => createLlamaCpp(s), { settings: llamacppSettings })
}
