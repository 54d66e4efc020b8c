/**
 * The prompt trace (MIRADOR_LLAMACPP_TRACE=FILE): each generation appends one JSON line to FILE
 * with what the model was fed, detokenized with its special tokens shown (`<s>[INST] …`), the chat
 * wrapper and the tools offered. For checking a chat template, and for tests. It writes prompts to
 * disk in clear: only when asked. A file that cannot be written is left alone (the run goes on).
 */
import { appendFileSync } from 'node:fs'
import type { LlamaModel, Token } from 'node-llama-cpp'
import type { GenerateRequest } from '../../engine/runtime.js'
import type { ChatPrompt } from './chat.js'

export function tracePrompt(
  file: string,
  req: GenerateRequest,
  model: LlamaModel,
  tokens: readonly Token[],
  chat: ChatPrompt | undefined,
): void {
  const line = {
    model: req.model,
    wrapper: chat ? chat.wrapper.wrapperName : 'none',
    tools: chat?.functions ? Object.keys(chat.functions) : [],
    round: (req.turns ?? []).filter((t) => t.role === 'assistant').length,
    tokens: tokens.length,
    prompt: model.detokenize(tokens, true),
  }
  try {
    appendFileSync(file, JSON.stringify(line) + '\n', { mode: 0o600 })
  } catch {
    // a trace is a debugging aid: failing to write it must not fail the generation
  }
}
