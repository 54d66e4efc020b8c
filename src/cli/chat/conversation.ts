/**
 * One `mirador chat`: one engine, set up once, and a turn per question, each a normal
 * `engine.run` (the code path `chain run` takes) with the chat's session, so the memory plugin
 * gives the models the earlier turns and keeps this one. The engine's `event` hook is tapped once;
 * each turn's events go to that turn's renderer (a fresh one per turn, as `chain run` makes one per
 * run) and are kept for the slash commands that look back at the last answer.
 *
 * With memory off nothing is read or written, sessions included; the conversation is then kept in
 * this process only and given to the models as `{{memory}}`, the variable the session fills with
 * memory on, in the same form (the last turns, question and answer), so turns still follow on.
 */
import { chainDisplayName } from '../../engine/chain-name.js'
import { MiradorError } from '../../engine/errors.js'
import type { AckEvent, DoneEvent, RunEvent } from '../../engine/events.js'
import { newRunId } from '../../engine/run-id.js'
import { findChainFile } from '../chain-files.js'
import { pickRenderer, type ChainRunIO } from '../chain-run.js'
import { chainDirs } from '../paths.js'
import { memoryBlock } from '../../plugins/memory/inject.js'
import type { Renderer } from '../render/renderer.js'
import type { Setup } from '../setup.js'

export interface ChatInput {
  chain?: string
  session?: string
  memory?: boolean
  json?: boolean
  offline?: boolean
  host?: string
  config?: string
  debug?: boolean
  profile?: string
  'show-memory'?: boolean
  'show-prompt'?: boolean
}

export interface ChatTurn {
  runId: string
  /** the chain as named (`auto` when the learner chose) */
  chain: string
  /** the chain that answered */
  answeredBy: string
  query: string
  answer: string
  ok: boolean
  at: number
  /** the run's `memory` and `docs` events, with the text injected */
  injected: RunEvent[]
  /** the learner's `route` event, when it chose the chain */
  route?: RunEvent
  done?: DoneEvent
}

export class Conversation {
  readonly turns: ChatTurn[] = []
  /** the chain as the user named it, and what the engine is given (a file, or `auto`) */
  #chain = { name: '', ref: '' }
  #current?: { runId: string; renderer: Renderer; turn: ChatTurn }

  constructor(
    readonly setup: Setup,
    readonly io: ChainRunIO,
    readonly input: ChatInput,
    /** undefined with memory off: nothing is kept */
    readonly session: string | undefined,
  ) {
    setup.engine.hooks.event.tap('Chat', (e: RunEvent) => this.#onEvent(e))
  }

  get chain(): string {
    return this.#chain.name
  }

  /** a turn is being answered */
  get busy(): boolean {
    return this.#current !== undefined
  }

  get memory(): boolean {
    return this.setup.engine.settings.memory
  }

  /** Switches chain; a name that is not a chain throws (CONFIG_NOT_FOUND), and the chain stays. */
  useChain(name: string): void {
    const { cwd, home } = this.setup
    const ref = name === 'auto' ? 'auto' : findChainFile(name, chainDirs(cwd, home), cwd)
    this.#chain = { name: chainDisplayName(name), ref }
  }

  /** The last turn that produced an answer. */
  lastAnswered(): ChatTurn | undefined {
    return this.turns.findLast((t) => t.ok)
  }

  /**
   * One turn: `startedAt` is when the line was entered, so the events' times are the user's wait.
   * Ctrl-C (SIGINT) cancels it; a second one while it stops leaves, as it does `chain run`.
   */
  async ask(query: string, startedAt: number): Promise<ChatTurn> {
    const runId = newRunId()
    const turn: ChatTurn = {
      runId,
      chain: this.#chain.name,
      answeredBy: this.#chain.name,
      query,
      answer: '',
      ok: false,
      at: Date.now(),
      injected: [],
    }
    const renderer = pickRenderer({ ...this.input, chain: this.#chain.name }, this.io)
    this.#current = { runId, renderer, turn }
    const ack: AckEvent = { type: 'ack', runId, chain: this.#chain.name, t: Math.round(performance.now() - startedAt) }
    const controller = new AbortController()
    let interrupts = 0
    const onSigint = () => {
      if (++interrupts > 1) process.exit(130)
      controller.abort(new MiradorError('ABORTED', 'interrupted'))
    }
    process.on('SIGINT', onSigint)
    try {
      const conversation = this.memory ? undefined : this.#inProcessContext()
      const result = await this.setup.engine.run({
        chain: this.#chain.ref,
        query,
        ack,
        startedAt,
        signal: controller.signal,
        ...(this.session ? { session: this.session } : {}),
        ...(conversation !== undefined ? { vars: { memory: conversation } } : {}),
        ...(this.input['show-prompt'] ? { showPrompt: true } : {}),
      })
      turn.answer = result.answer
      turn.ok = result.ok && !controller.signal.aborted
      turn.answeredBy = result.chain
    } finally {
      process.off('SIGINT', onSigint)
      this.#current = undefined
      renderer.close()
    }
    this.turns.push(turn)
    return turn
  }

  #onEvent(e: RunEvent): void {
    const current = this.#current
    if (!current || e.runId !== current.runId) return
    if (e.type === 'memory' || e.type === 'docs') {
      current.turn.injected.push(e)
      // the text is kept for /memory; it is shown as the turn streams only with --show-memory
      if (!this.input['show-memory'] && 'text' in e) {
        const { text: _text, ...shown } = e
        current.renderer.event(shown as RunEvent)
        return
      }
    } else if (e.type === 'route') current.turn.route = e
    else if (e.type === 'done') current.turn.done = e as DoneEvent
    current.renderer.event(e)
  }

  /**
   * The last turns that answered, as the memory plugin gives a session's turns in `{{memory}}` (its
   * block, its number of turns, its budget); undefined without the memory plugin, whose variable it is.
   */
  #inProcessContext(): string | undefined {
    const options = this.setup.memory?.options
    if (!options) return undefined
    const turns = this.turns
      .filter((t) => t.ok)
      .slice(-options.session_verbatim)
      .map((t) => `Q: ${t.query}\nA: ${t.answer}`)
      .join('\n\n')
    return memoryBlock(turns, [], options.budget_tokens).text
  }

  /** Forgets the last turn: its memory, its session turn and what other plugins kept of it. */
  async forgetLast(): Promise<{ turn: ChatTurn; removed: Record<string, number> } | undefined> {
    const turn = this.turns.at(-1)
    if (!turn) return undefined
    const removed: Record<string, number> = {}
    const memory = this.setup.memory
    if (this.memory && memory && turn.ok) {
      const store = await memory.store()
      const ids = (await store.get(this.session ? { session: this.session } : {}))
        .filter((m) => m.meta.runId === turn.runId)
        .map((m) => m.id)
      // the memory gone, every plugin forgets what it kept of the run (the session turn, the learner's record)
      if (ids.length) await this.setup.engine.hooks.forget.promise({ removed, ids })
      else removed['session turns'] = await (await memory.sessions()).removeRuns([turn.runId])
    }
    this.turns.pop()
    return { turn, removed }
  }
}
