/**
 * A plugin that answers the `model` hook with scripted token streams, for engine tests that need
 * exact control of timing and failures (graph order, concurrency, skips). Runtimes themselves are
 * tested against real llama.cpp and the Ollama protocol server.
 */
import { MiradorError } from '../../src/engine/errors.js'
import type { PluginHost } from '../../src/engine/engine.js'
import type { StreamPart } from '../../src/engine/runtime.js'

export interface Script {
  tokens: string[]
  delayMs?: number
  /** natural-log probability for every token; omit for a runtime without logprobs */
  logprob?: number
  /** fail with this error after `failAfter` tokens */
  fail?: MiradorError
  failAfter?: number
  /** when offered tools and no tool has answered yet, call these instead of answering */
  callTools?: { name: string; arguments: Record<string, unknown> }[]
  /** call tools again in every round (to test the round limit) */
  alwaysCallTools?: boolean
  /** the completion tokens the runtime reports at the end (default: as many as `tokens`; 0: none) */
  usage?: number
}

export interface Call {
  model: string
  stage: string
  prompt: string
  system?: string
  start: number
  end?: number
  aborted?: boolean
  tools?: string[]
  turns?: unknown[]
  format?: unknown
}

export function scriptedModels(scripts: Record<string, Script>) {
  const calls: Call[] = []
  const plugin = {
    name: 'ScriptedModels',
    apiVersion: 1,
    apply(engine: PluginHost) {
      engine.hooks.model.tapPromise('ScriptedModels', async (ref) => {
        const script = scripts[ref.name]
        if (!script) return undefined
        return {
          name: ref.name,
          runtime: 'scripted',
          async *generate(req): AsyncIterable<StreamPart> {
            const call: Call = {
              model: ref.name,
              stage: ref.stage,
              prompt: req.prompt,
              ...(req.system !== undefined ? { system: req.system } : {}),
              start: performance.now(),
              ...(req.tools ? { tools: req.tools.map((t) => t.name) } : {}),
              ...(req.turns ? { turns: structuredClone(req.turns) } : {}),
              ...(req.format !== undefined ? { format: req.format } : {}),
            }
            calls.push(call)
            try {
              if (script.callTools && req.tools?.length && (script.alwaysCallTools || !req.turns?.length)) {
                for (const [i, c] of script.callTools.entries())
                  yield { type: 'tool-call', call: { id: `call_${i}`, name: c.name, arguments: c.arguments } }
                yield { type: 'finish', reason: 'stop', usage: { completionTokens: 0 } }
                return
              }
              for (let i = 0; i < script.tokens.length; i++) {
                if (script.fail && i === (script.failAfter ?? 0)) {
                  yield { type: 'error', error: script.fail }
                  return
                }
                if (script.delayMs) await new Promise((r) => setTimeout(r, script.delayMs))
                if (req.signal?.aborted) {
                  call.aborted = true
                  yield { type: 'finish', reason: 'abort', usage: { completionTokens: i } }
                  return
                }
                yield {
                  type: 'text-delta',
                  text: script.tokens[i]!,
                  ...(script.logprob !== undefined ? { logprob: script.logprob } : {}),
                }
              }
              if (script.fail && (script.failAfter ?? 0) >= script.tokens.length) {
                yield { type: 'error', error: script.fail }
                return
              }
              yield {
                type: 'finish',
                reason: 'stop',
                usage: { promptTokens: req.prompt.length, completionTokens: script.usage ?? script.tokens.length },
              }
            } finally {
              call.end = performance.now()
            }
          },
        }
      })
    },
  }
  return { plugin, calls }
}

export function runtimeError(message = 'boom'): MiradorError {
  return new MiradorError('RUNTIME_FAILED', message)
}
