/**
 * Summaries of long answers and of old session turns, made by a model through the `model` hook
 * (the quick model by default), as a stage of its own would.
 */
import { MiradorError } from '../../engine/errors.js'
import type { Hooks } from '../../engine/hooks.js'
import type { StageContext } from '../../engine/types.js'

const TIMEOUT_MS = 60_000

export async function summarizeWith(hooks: Hooks, model: string, texts: string[]): Promise<string> {
  const signal = AbortSignal.timeout(TIMEOUT_MS)
  const prompt =
    'Summarise the following in a few sentences, keeping names, numbers, decisions and preferences:\n\n' +
    texts.join('\n\n---\n\n')
  const ctx: StageContext = {
    runId: 'memory',
    chain: 'memory',
    stage: 'memory-summary',
    spec: { model, prompt },
    query: '',
    memory: false,
    summary: {},
    signal,
    results: new Map(),
    emit: () => {},
    log: () => {},
  }
  const loaded = await hooks.model.promise({ name: model, stage: 'memory-summary' }, ctx)
  if (!loaded) throw new MiradorError('MODEL_UNRESOLVED', `no runtime provides the summary model "${model}"`)
  let out = ''
  try {
    for await (const part of loaded.generate({ prompt, options: { temperature: 0.2, max_tokens: 300 }, signal })) {
      if (part.type === 'text-delta') out += part.text
      else if (part.type === 'error') throw part.error
    }
  } finally {
    loaded.release?.()
  }
  if (!out.trim()) throw new MiradorError('RUNTIME_FAILED', `the summary model "${model}" answered nothing`)
  return out.trim()
}
