/**
 * llama.cpp through the model's chat template (node-llama-cpp's LlamaChat with Llama2Chat on the
 * test GGUF) against raw completion (chat_wrapper none, Mirador's own sampling loop), in-process on
 * the loaded model, greedy, with logprobs (as the engine asks): time to the first token, and
 * tokens/s over 64 generated tokens (first token to last). The chat prompt is longer (the template
 * adds about 10 tokens here), so part of the first-token difference is prompt evaluation.
 *
 * Run alone: node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/llamacpp-chat.ts [gguf] [runs]
 */
import { pathToFileURL } from 'node:url'
import type { Runtime } from '../src/engine/runtime.js'
import { createLlamaCpp } from '../src/runtimes/llamacpp/index.js'
import { median } from './lib.js'

const TOKENS = 64

export interface ChatBench {
  firstMs: { chat: number; raw: number }
  tokensPerSecond: { chat: number; raw: number }
}

async function once(rt: Runtime, model: string): Promise<{ firstMs: number; tps: number }> {
  const t0 = performance.now()
  let first = -1
  let last = 0
  let tokens = 0
  for await (const part of rt.generate({
    model,
    prompt: 'Once upon a time',
    options: { temperature: 0, max_tokens: TOKENS },
    logprobs: true,
  })) {
    if (part.type === 'error') throw part.error
    if (part.type === 'text-delta') {
      last = performance.now()
      if (first < 0) first = last - t0
    }
    if (part.type === 'finish') tokens = part.usage.completionTokens
  }
  return { firstMs: first, tps: (tokens - 1) / ((last - t0 - first) / 1000) }
}

export async function benchLlamaCppChat(model: string, runs: number): Promise<ChatBench> {
  const chat = createLlamaCpp({ threads: 1, contextSize: 256 })
  const raw = createLlamaCpp({ threads: 1, contextSize: 256, chatWrapper: 'none' })
  try {
    await once(chat, model) // load, and resolve the wrapper
    await once(raw, model)
    const c: { firstMs: number; tps: number }[] = []
    const r: { firstMs: number; tps: number }[] = []
    // interleaved, so both see the same machine load
    for (let i = 0; i < runs; i++) {
      c.push(await once(chat, model))
      r.push(await once(raw, model))
    }
    return {
      firstMs: { chat: median(c.map((x) => x.firstMs)), raw: median(r.map((x) => x.firstMs)) },
      tokensPerSecond: { chat: median(c.map((x) => x.tps)), raw: median(r.map((x) => x.tps)) },
    }
  } finally {
    await chat.dispose?.()
    await raw.dispose?.()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const model = process.argv[2] ?? process.env.MIRADOR_TEST_GGUF ?? ''
  console.log(JSON.stringify(await benchLlamaCppChat(model, Number(process.argv[3] ?? 11)), null, 2))
}
