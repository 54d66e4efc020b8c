/**
 * Shared by the llama.cpp tests. The real model comes from test/support/test-gguf.ts
 * (MIRADOR_TEST_GGUF; without it those tests are skipped with one notice for the run).
 */
import type { GenerateRequest, Runtime, StreamPart } from '../../src/engine/runtime.js'

/** Greedy continuation of "Once upon a time" by stories260K (from the model's README). */
export const STORY_START =
  ', there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.'

export async function collect(runtime: Runtime, req: GenerateRequest): Promise<StreamPart[]> {
  const parts: StreamPart[] = []
  for await (const part of runtime.generate(req)) parts.push(part)
  return parts
}

export function textOf(parts: StreamPart[]): string {
  return parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('')
}

export function deltas(parts: StreamPart[]): Extract<StreamPart, { type: 'text-delta' }>[] {
  return parts.filter((p): p is Extract<StreamPart, { type: 'text-delta' }> => p.type === 'text-delta')
}

export function finishOf(parts: StreamPart[]): Extract<StreamPart, { type: 'finish' }> {
  const last = parts.at(-1)
  if (last?.type !== 'finish') throw new Error(`the stream did not end with a finish part: ${JSON.stringify(last)}`)
  return last
}
