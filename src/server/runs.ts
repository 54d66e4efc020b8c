/**
 * Runs chains for the server on one engine, the same `engine.run` `chain run` uses: each run's
 * events reach only its own request (the engine's `event` hook is shared, runs are told apart by
 * runId), its earlier messages only its own prompts (conversation.ts), and at most `limit` run at once.
 */
import type { Engine } from '../engine/engine.js'
import type { CoreEvent, DoneEvent, ErrorEvent, RunEvent } from '../engine/events.js'
import { newRunId } from '../engine/run-id.js'
import type { ChainDef } from '../engine/types.js'
import { withConversation, type Conversation } from './conversation.js'

/** One request's run: the chain, the query, and what `chain run --session NAME [--no-memory]` would be given. */
export interface ServedRequest {
  chain: ChainDef
  query: string
  session?: string
  /** false: this run neither recalls nor remembers */
  memory: boolean
  conversation: Conversation
}

export interface ServedRun {
  runId: string
  /** the run's `done` event (every run ends with one, failed or not) */
  done: DoneEvent | undefined
  /** the first error the run reported */
  error: ErrorEvent | undefined
  promptTokens: number
}

export interface RunPool {
  /** false when `limit` runs are going already: the caller answers 429 */
  tryRun(
    req: ServedRequest,
    signal: AbortSignal,
    onEvent: (e: RunEvent) => void,
  ): { runId: string; finished: Promise<ServedRun> } | false
  active(): number
}

export function runPool(engine: Engine, limit: number): RunPool {
  const listeners = new Map<string, (e: RunEvent) => void>()
  const conversations = new Map<string, Conversation>()
  engine.hooks.event.tap('Serve', (e: RunEvent) => listeners.get(e.runId)?.(e))
  // after the memory plugin's tap, whose `{{memory}}` the conversation is added to
  engine.hooks.prompt.tap({ name: 'Serve', stage: 100 }, (prompt, ctx) => {
    const c = conversations.get(ctx.runId)
    return c ? withConversation(prompt, c) : prompt
  })
  let running = 0
  return {
    active: () => running,
    tryRun({ chain, query, session, memory, conversation }, signal, onEvent) {
      if (running >= limit) return false
      running++
      const run: ServedRun = { runId: newRunId(), done: undefined, error: undefined, promptTokens: 0 }
      listeners.set(run.runId, (ev) => {
        // plugins may not emit core types (the sandbox refuses them), so a core type is a core event
        const e = ev as CoreEvent
        if (e.type === 'done') run.done = e
        else if (e.type === 'error') run.error ??= e
        else if (e.type === 'stage-end') run.promptTokens += e.promptTokens ?? 0
        onEvent(ev)
      })
      conversations.set(run.runId, conversation)
      const startedAt = performance.now()
      const finished = engine
        .run({ chain, query, signal, runId: run.runId, startedAt, memory, ...(session ? { session } : {}) })
        .then(() => run)
        .finally(() => {
          running--
          listeners.delete(run.runId)
          conversations.delete(run.runId)
        })
      return { runId: run.runId, finished }
    },
  }
}

/** The stage whose tokens are the answer, as the engine picks it when every stage succeeds. */
export function answerStage(chain: ChainDef): string | undefined {
  return chain.value.answer?.[0] ?? Object.keys(chain.value.stages).at(-1)
}
