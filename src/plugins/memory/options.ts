/** The memory plugin's options (under `builtins: { memory: { … } }` in config) and its stage key. */
export interface MemoryOptions {
  /** memories injected per stage at most (default 5) */
  k?: number
  /** minimum similarity (0–1, raw cosine) a memory needs to be injected (default 0.1) */
  threshold?: number
  /** approximate tokens the injected block may take per stage (default 400) */
  budget_tokens?: number
  /** memories kept at most; beyond it the least useful are dropped (default 10,000) */
  max_memories?: number
  /** answers longer than this are stored as a summary made by `summary_model` (default 1,500) */
  summarize_over_chars?: number
  /** the model that summarises long answers and old session turns (default `quick`) */
  summary_model?: string
  /** turns of a session given verbatim; older ones are summarised (default 3) */
  session_verbatim?: number
  /** where vectors come from: Mirador's own hashing embedder (default, offline), or a runtime's embedding model */
  embed?: { runtime: 'hashing' } | { runtime: 'ollama' | 'llamacpp'; model: string; host?: string }
  /** extra secret patterns to redact before storing */
  redact_patterns?: string[]
  /** show the recalled text in `memory` events (`--show-memory`) */
  show?: boolean
}

export type ResolvedMemoryOptions = MemoryOptions &
  Required<
    Pick<
      MemoryOptions,
      | 'k'
      | 'threshold'
      | 'budget_tokens'
      | 'max_memories'
      | 'summarize_over_chars'
      | 'summary_model'
      | 'session_verbatim'
    >
  >

export const DEFAULTS = {
  k: 5,
  threshold: 0.1,
  budget_tokens: 400,
  max_memories: 10_000,
  summarize_over_chars: 1500,
  summary_model: 'quick',
  session_verbatim: 3,
}

export const optionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    k: { type: 'integer', minimum: 1, maximum: 50 },
    threshold: { type: 'number', minimum: 0, maximum: 1 },
    budget_tokens: { type: 'integer', minimum: 0, maximum: 100_000 },
    max_memories: { type: 'integer', minimum: 10, maximum: 10_000_000 },
    summarize_over_chars: { type: 'integer', minimum: 100, maximum: 1_000_000 },
    summary_model: { type: 'string', minLength: 1, maxLength: 200 },
    session_verbatim: { type: 'integer', minimum: 0, maximum: 100 },
    embed: {
      type: 'object',
      required: ['runtime'],
      additionalProperties: false,
      properties: {
        runtime: { enum: ['hashing', 'ollama', 'llamacpp'] },
        model: { type: 'string', minLength: 1, maxLength: 4096 },
        host: { type: 'string', pattern: '^https?://' },
      },
      if: { properties: { runtime: { enum: ['ollama', 'llamacpp'] } } },
      then: { required: ['model'] },
    },
    redact_patterns: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 500 } },
    show: { type: 'boolean' },
  },
}

/** `memory:` on a stage: false keeps memory out of it; a map tunes its injection. */
export const stageKeySchema = {
  description:
    'Memory for this stage: false to inject nothing, or { k, threshold, budget_tokens } to tune what {{memory}} holds.',
  anyOf: [
    { type: 'boolean', description: 'false: inject no memory into this stage.' },
    {
      type: 'object',
      description: 'How much memory to inject into this stage.',
      additionalProperties: false,
      properties: {
        k: { type: 'integer', minimum: 1, maximum: 50, description: 'Memories at most.' },
        threshold: { type: 'number', minimum: 0, maximum: 1, description: 'Minimum similarity, 0 to 1.' },
        budget_tokens: {
          type: 'integer',
          minimum: 0,
          maximum: 100000,
          description: 'Approximate tokens the memory block may take.',
        },
      },
    },
  ],
}

export type StageMemory = boolean | { k?: number; threshold?: number; budget_tokens?: number }
