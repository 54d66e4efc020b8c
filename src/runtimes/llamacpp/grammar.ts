/**
 * Structured output on llama.cpp: a request's `format` becomes a grammar that constrains sampling,
 * so the model can only produce JSON (matching the schema, when one is given). node-llama-cpp
 * supports a subset of JSON Schema (GbnfJsonSchema); a schema outside it falls back to the plain
 * JSON grammar, and the engine's check of the answer still applies the whole schema.
 *
 * Grammars are built once per Llama binding and distinct format; each generation gets its own
 * evaluation state, as node-llama-cpp requires. A JSON grammar lets whitespace follow the value, so
 * a model may pad a finished answer with newlines until max_tokens: node-llama-cpp's grammars name
 * stop triggers for that (four newlines), which the generation adds to its stop strings.
 */
import type { GbnfJsonSchema, Llama, LlamaGrammar, LlamaGrammarEvaluationState, LlamaModel } from 'node-llama-cpp'
import type { GenerateRequest } from '../../engine/runtime.js'
import { stableKey } from '../../engine/stable-key.js'

const grammars = new WeakMap<Llama, Map<string, Promise<LlamaGrammar>>>()

async function buildGrammar(llama: Llama, format: NonNullable<GenerateRequest['format']>): Promise<LlamaGrammar> {
  const { LlamaGrammar: Grammar } = await import('node-llama-cpp')
  if (format === 'json') return Grammar.getFor(llama, 'json')
  try {
    // the schema's type is only known at run time: the const-generic signature cannot infer it
    const fromSchema = llama.createGrammarForJsonSchema.bind(llama) as (s: GbnfJsonSchema) => Promise<LlamaGrammar>
    return await fromSchema(format as GbnfJsonSchema)
  } catch {
    return Grammar.getFor(llama, 'json')
  }
}

export interface GrammarUse {
  /** the grammar itself (LlamaChat takes it and makes its own state) */
  grammar: LlamaGrammar
  state: LlamaGrammarEvaluationState
  /** text that ends the generation (the grammar's plain-text stop triggers) */
  stops: string[]
}

/** The grammar evaluation state for one generation, and its stop strings. */
export async function grammarFor(
  llama: Llama,
  model: LlamaModel,
  format: NonNullable<GenerateRequest['format']>,
): Promise<GrammarUse> {
  let byKey = grammars.get(llama)
  if (!byKey) grammars.set(llama, (byKey = new Map()))
  const key = format === 'json' ? 'json' : stableKey(format)
  let grammar = byKey.get(key)
  if (!grammar) {
    grammar = buildGrammar(llama, format)
    byKey.set(key, grammar)
    grammar.catch(() => byKey.delete(key))
  }
  const { LlamaGrammarEvaluationState: State, isLlamaText } = await import('node-llama-cpp')
  const built = await grammar
  const stops = built.stopGenerationTriggers.flatMap((t) =>
    typeof t === 'string' ? [t] : isLlamaText(t) ? [t.toString()] : [],
  )
  return { grammar: built, state: new State({ model, grammar: built }), stops: stops.filter((s) => s !== '') }
}
