/** The memory plugin's options (schemas/plugins/memory.schema.json) as the plugin holds them. */
import type { MemoryOptions, MemoryStageKeys } from './options.gen.js'

export type { MemoryOptions }

/** After validation the schema's defaults are filled in. */
export type ResolvedMemoryOptions = MemoryOptions &
  Required<
    Pick<
      MemoryOptions,
      | 'k'
      | 'budget_tokens'
      | 'max_memories'
      | 'summarize_over_chars'
      | 'max_turn_chars'
      | 'summary_model'
      | 'session_verbatim'
    >
  >

/** `memory:` on a stage: false keeps memory out of it; a map tunes its injection. */
export type StageMemory = NonNullable<MemoryStageKeys['memory']>
