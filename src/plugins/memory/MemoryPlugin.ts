/**
 * Long-term memory: after each run the query and answer are remembered (redacted, encrypted, in
 * Chroma); before each stage the memories relevant to the query, and the earlier turns of the
 * session, are put in `{{memory}}`, within a token budget, with a `memory` event naming what was
 * injected. Nothing is read or written when memory is off. If the store fails, the run goes on
 * without memory and says so once; what could not be written waits in an encrypted outbox.
 */
import type { PluginHost } from '../../engine/engine.js'
import { AppliedTo } from '../../lib/applied-to.js'
import { MiradorError } from '../../engine/errors.js'
import { builtinOptionsSchema, builtinStageKeys, validatePluginOptions } from '../../engine/plugin-options.js'
import { newRunId } from '../../engine/run-id.js'
import type { ForgetRequest, Prompt, RunContext, RunResult, StageContext } from '../../engine/types.js'
import { loadCipher, PASSPHRASE_ENV, replaceKey, type MemoryCipher } from '../../lib/crypto.js'
import { createEmbedder, createHashingEmbedder, type Embedder } from '../../lib/embedder.js'
import { createUseEmbedder, USE_ID, useUnavailable } from '../../lib/use-embedder.js'
import { clearActive, readActive, recordFirstUse, writeActive } from './active-embedder.js'
import type { ChromaMemoryStoreApi } from './chroma/store.js'
import { tapDocs } from './docs/apply.js'
import { Docs } from './docs/docs.js'
import type { ImportProgress, ImportReport } from './import.js'
import { memoryBlock, approxTokens, usesMemory } from './inject.js'
import { clip, clippedMessage } from './limits.js'
import type { MemoryOptions, ResolvedMemoryOptions, StageMemory } from './options.js'
import { Outbox } from './outbox.js'
import { leastUseful } from './prune.js'
import { isRelevant, provenance, recall, tuningFor, type Ranked } from './recall.js'
import { CHROMA_URL_ENV } from './chroma/server.js'
import { embedFromService, recallFromService, refreshService, type ServedRecall } from './service/client.js'
import { redact } from './redact.js'
import { SessionStore } from './sessions.js'
import { summarizeWith } from './summarize.js'
import type { MemoryFilter, MemoryRecord, MemoryStore, Unreadable } from './types.js'
import { StoreWords } from './words.js'

const PLUGIN_NAME = 'MemoryPlugin'
/** memories embedded again per batch by `memory reindex` */
const REINDEX_BATCH = 64

export interface ReindexReport {
  /** the embedder that had made them, and the one config names */
  from: string
  to: string
  /** memories embedded again now (others were there already, from an interrupted reindex) */
  moved: number
  total: number
}
/** memories recalled once per run; each stage takes what its k and threshold allow */
const RECALL_K = 20

/** what a run recalled, and who answered: the memory service, or the run itself */
interface Recalled {
  found: Ranked[]
  /** records the recall skipped because they do not open with the key */
  unreadable: Unreadable[]
  via: 'service' | 'run'
  error?: unknown
}

interface RunState {
  /** the run's recall, started with its plan; a failure is kept to be said once, by the first stage */
  recall?: Promise<Recalled>
  injected: Set<string>
  warned: boolean
}

export class MemoryPlugin {
  readonly name = PLUGIN_NAME
  readonly apiVersion = 1
  readonly options: ResolvedMemoryOptions
  readonly #applied = new AppliedTo(PLUGIN_NAME)
  #cipher?: Promise<MemoryCipher>
  #store?: Promise<ChromaMemoryStoreApi>
  /** the cipher's warnings were said once in this process */
  #warned = false
  #embedder?: Embedder
  /** why the bundled encoder could not be used, when memory fell back to the hashing embedder */
  #fallback?: string
  #saidFallback = false
  #configured?: Embedder
  #docs?: Docs
  /** `memory search`'s candidates by words (words.ts), over the store they were built from */
  #words?: { store: ChromaMemoryStoreApi; words: StoreWords }
  /** this process started the memory server (none was running): see #stopServerUnused */
  #startedServer = false
  readonly #runs = new Map<string, RunState>()

  constructor(options: MemoryOptions = {}) {
    const schema = builtinOptionsSchema('memory')
    this.options = validatePluginOptions<ResolvedMemoryOptions>(PLUGIN_NAME, schema, options)
  }

  apply(engine: PluginHost): void {
    this.#applied.set(engine)
    engine.registerStageKeys(builtinStageKeys('memory'))
    // {{memory}} is ours even when memory is off for a run (it is empty then, by design)
    engine.registerTemplateVars(['memory'])
    engine.registerCapability('memory.search', (args) => this.#searchCapability(args))
    engine.registerCapability('memory.embed', (args) => this.#embedCapability(args))
    tapDocs(engine, PLUGIN_NAME, { docs: () => this.docs(), show: () => this.#show })
    // memory off: not a read, not a write, not a key file
    if (!engine.settings.memory) return
    // the recall starts as soon as the plan is final (after a profile may have turned memory off),
    // so the store is reached while the rest of the run gets ready, not when the first prompt is built
    engine.hooks.plan.tap({ name: PLUGIN_NAME, stage: 50 }, (plan, ctx) => {
      const wanted = Object.values(plan.stages).some(
        (s) => (s as { memory?: StageMemory }).memory !== false && usesMemory(s),
      )
      if (plan.memory && wanted) this.#startRecall(plan.runId, plan.query, ctx)
      if (plan.memory && wanted) this.#sayIfWaiting(ctx)
      if (plan.memory && wanted) this.#sayFallback(ctx)
      const max = this.options.max_turn_chars
      if (plan.memory && plan.query.length > max)
        ctx.emit({ type: 'memory', clipped: true, message: clippedMessage(plan.query.length, max) })
      return plan
    })
    engine.hooks.prompt.tapPromise(PLUGIN_NAME, (prompt, ctx) => this.#inject(prompt, ctx))
    engine.hooks.runDone.tapPromise(PLUGIN_NAME, (result) => this.#remember(result))
    engine.hooks.forget.tapPromise(PLUGIN_NAME, (req) => this.forget(req))
    // after every plugin forgot its part: with everything gone, the key that sealed it goes too
    engine.hooks.forget.tapPromise({ name: PLUGIN_NAME, stage: 1000 }, (req) => this.#replaceKeyAfter(req))
  }

  get home(): string {
    return this.#applied.host.settings.home
  }

  get #env(): NodeJS.ProcessEnv {
    return this.#applied.host.settings.env
  }

  /** recalled text goes into `memory` events (the option, or `--show-memory`) */
  get #show(): boolean {
    return this.options.show === true || this.#applied.host.settings.flags['show-memory'] === true
  }

  cipher(): Promise<MemoryCipher> {
    this.#cipher ??= loadCipher({ home: this.home, env: this.#env })
    return this.#cipher
  }

  /** The similarity a memory needs to be relevant: the option, else what suits the active embedder. */
  threshold(): number {
    return this.options.threshold ?? tuningFor(this.embedder().id).threshold
  }

  /** The embedder config names: where memories go once `memory reindex` has moved them there. */
  configuredEmbedder(): Embedder {
    if (!this.#configured) {
      const e = this.options.embed
      if (e?.runtime === 'hashing') this.#configured = createHashingEmbedder()
      else if (!e || e.runtime === 'use') {
        // the bundled encoder, unless a broken install lacks it: then words, said once (#sayFallback)
        this.#fallback = useUnavailable()
        this.#configured = this.#fallback ? createHashingEmbedder() : this.#served(createUseEmbedder())
      } else {
        // the same runtime settings as chains (--host, config ollama:), with the embedder's own host on top
        const runtime = this.#applied.host.runtime(e.runtime, e.host ? { host: e.host } : {})
        this.#configured = createEmbedder({ runtime, model: e.model ?? '' })
      }
    }
    return this.#configured
  }

  /** Why the bundled encoder cannot be used here (memory fell back to the hashing embedder), if it cannot. */
  fallbackReason(): string | undefined {
    this.configuredEmbedder()
    return this.#fallback
  }

  /**
   * The embedder whose collection holds the memories (active-embedder.ts): the configured one, or
   * the one that made them while they wait for `memory reindex` (one of Mirador's own: a runtime's
   * model the config no longer names cannot be asked, and its memories are then reached only by
   * reindexing).
   */
  embedder(): Embedder {
    if (!this.#embedder) {
      const configured = this.configuredEmbedder()
      const active = readActive(this.home)
      this.#embedder = (active && active !== configured.id && this.#ownEmbedder(active)) || configured
    }
    return this.#embedder
  }

  #ownEmbedder(id: string): Embedder | undefined {
    const hashing = createHashingEmbedder()
    if (id === hashing.id) return hashing
    return id === USE_ID ? this.#served(createUseEmbedder()) : undefined
  }

  /**
   * An embedder the memory service keeps loaded: vectors come from the service when it answers (the
   * bundled encoder takes a third of a second to load), else from `local`, loaded in this process.
   */
  #served(local: Embedder): Embedder {
    return {
      id: local.id,
      dims: local.dims,
      embed: async (texts, options) =>
        (this.#serviceUsable() ? await embedFromService(this.home, { embedder: local.id, texts }) : undefined) ??
        local.embed(texts, options),
    }
  }

  /** a passphrase is the run's alone, and CHROMA_URL is not the server the service lives beside */
  #serviceUsable(): boolean {
    return !this.#env[PASSPHRASE_ENV] && !this.#env[CHROMA_URL_ENV]
  }

  /** The Chroma store, started or reached on first use; a failure is retried on the next call. */
  store(onProgress?: (message: string) => void): Promise<ChromaMemoryStoreApi> {
    this.#store ??= (async () => {
      const { openStore } = await import('./open-store.js')
      const embedderId = this.embedder().id
      // the first use of a home records whose collection its memories are in
      await recordFirstUse(this.home, embedderId)
      const store = await openStore({
        home: this.home,
        env: this.#env,
        cipher: await this.cipher(),
        embedderId,
        ...(onProgress ? { onProgress } : {}),
        onStarted: () => (this.#startedServer = true),
      })
      return store
    })().catch((err: unknown) => {
      this.#store = undefined
      throw err
    })
    return this.#store
  }

  /**
   * `memory reindex`: every memory embedded again with the configured embedder, into its collection.
   * The old collection stays the one runs use until the new one holds them all (records already
   * there are skipped, so an interrupted reindex resumes); then it takes over and the old one is
   * emptied, so forgetting never has two copies to reach.
   */
  async reindex(onProgress?: (done: number, total: number) => void): Promise<ReindexReport> {
    const from = this.embedder()
    const to = this.configuredEmbedder()
    if (from.id === to.id) return { from: from.id, to: to.id, moved: 0, total: 0 }
    const { openStore } = await import('./open-store.js')
    const source = await this.store()
    const target = await openStore({ home: this.home, env: this.#env, cipher: await this.cipher(), embedderId: to.id })
    let moved = 0
    let total = 0
    // again until the old collection has nothing new: runs may remember there meanwhile
    for (;;) {
      const all = await source.get({})
      const have = new Set((await target.get({ ids: all.map((m) => m.id) })).map((m) => m.id))
      const todo = all.filter((m) => !have.has(m.id))
      total = Math.max(total, all.length)
      if (todo.length === 0) break
      for (let i = 0; i < todo.length; i += REINDEX_BATCH) {
        const batch = todo.slice(i, i + REINDEX_BATCH)
        const vectors = await to.embed(batch.map((m) => m.text))
        await target.add(batch.map((m, j) => ({ id: m.id, text: m.text, embedding: vectors[j]!, meta: m.meta })))
        moved += batch.length
        onProgress?.(all.length - todo.length + i + batch.length, all.length)
      }
    }
    await writeActive(this.home, to.id)
    if (total > 0) await source.delete({ all: true })
    this.#embedder = to
    this.#store = Promise.resolve(target)
    return { from: from.id, to: to.id, moved, total }
  }

  /** The user's documents (docs/): indexed and searched with this plugin's key, embedder and server. */
  docs(): Docs {
    this.#docs ??= new Docs({
      home: this.home,
      env: this.#env,
      cipher: () => this.cipher(),
      embedder: () => this.embedder(),
      threshold: () => this.threshold(),
      redactPatterns: this.options.redact_patterns ?? [],
    })
    return this.#docs
  }

  async sessions(): Promise<SessionStore> {
    return new SessionStore(this.home, await this.cipher(), { redactPatterns: this.options.redact_patterns ?? [] })
  }

  async outbox(): Promise<Outbox> {
    return new Outbox(this.home, await this.cipher())
  }

  /** Memories relevant to `query`, best first (for `memory search` and injection). */
  async search(query: string, k: number, session?: string): Promise<Ranked[]> {
    query = clip(query, this.options.max_turn_chars).text
    return recall({ store: await this.store(), embedder: this.embedder(), query, k, ...(session ? { session } : {}) })
  }

  /**
   * Memories relevant to `query` as `memory search` lists them: only those at or above the
   * similarity threshold injection uses (the option), so an unrelated query finds nothing
   * rather than every memory at its recency score.
   */
  async searchRelevant(query: string, opts: { limit: number; session?: string }): Promise<Ranked[]> {
    const store = await this.store()
    // what the memory service adds to a run's recall; a run recalling by itself does without (its
    // first token would wait for every memory to be read)
    if (this.#words?.store !== store) this.#words = { store, words: new StoreWords(store) }
    const { words } = this.#words
    return recall({
      store,
      // nothing tells this process what other runs write (`mirador mcp` lives long): each search
      // brings its index current first, beside the embedding of the question
      words: {
        search: async (q, n, filter) => {
          await words.refresh()
          return words.search(q, n, filter)
        },
      },
      embedder: this.embedder(),
      query,
      k: opts.limit,
      threshold: this.threshold(),
      ...(opts.session !== undefined ? { session: opts.session } : {}),
    })
  }

  /**
   * `memory import`: the memories of a JSONL file (import.ts), embedded with this plugin's
   * embedder, redacted with its patterns, in batches. A file that could take the store past
   * `max_memories` is refused before anything is written: the next run would prune what it brought.
   */
  async importFile(file: string, onProgress?: (p: ImportProgress, total: number) => void): Promise<ImportReport> {
    const { countLines, importLines, readLines } = await import('./import.js')
    const { lines, memories } = await countLines(file)
    const store = await this.store()
    const held = await store.count()
    if (held + memories > this.options.max_memories)
      throw new MiradorError(
        'USAGE',
        `${file} holds up to ${memories} memories and the store has ${held}, past its cap of ` +
          `${this.options.max_memories}: the next run would drop the least useful of them. ` +
          'Raise it (builtins: { memory: { max_memories: N } } in mirador.config.yaml), or import fewer. ' +
          'Nothing was imported.',
      )
    const report = await importLines(readLines(file), {
      store,
      embedder: this.embedder(),
      redactPatterns: this.options.redact_patterns ?? [],
      runId: newRunId(),
      ...(onProgress ? { onProgress: (p: ImportProgress) => onProgress(p, lines) } : {}),
    })
    await this.#tellService()
    return report
  }

  /**
   * `memory.embed` for other plugins (the learner's query types): `{ texts }` → `{ embedder, vectors }`,
   * in the space memories are recalled in (warm in the memory service when it runs); with no texts it
   * only names the embedder.
   */
  async #embedCapability(args: unknown): Promise<unknown> {
    if (!this.#applied.host.settings.memory)
      throw new MiradorError('USAGE', 'memory is off: there is nothing to embed with')
    const texts = (args as { texts?: unknown } | null)?.texts
    if (
      !Array.isArray(texts) ||
      texts.length > 256 ||
      !texts.every((t) => typeof t === 'string' && t.length <= 100_000)
    )
      throw new MiradorError(
        'TOOL_INVALID',
        'memory.embed needs { texts: up to 256 strings of up to 100,000 characters }',
      )
    const embedder = this.embedder()
    return { embedder: embedder.id, vectors: texts.length ? await embedder.embed(texts as string[]) : [] }
  }

  /** `memory.search` for sandboxed tools: `{ query, k? }` → `{ results: [{ id, text, score }] }` */
  async #searchCapability(args: unknown): Promise<unknown> {
    if (!this.#applied.host.settings.memory)
      throw new MiradorError('USAGE', 'memory is off: there is nothing to search')
    const a = (args ?? {}) as { query?: unknown; k?: unknown }
    if (typeof a.query !== 'string' || a.query.length === 0 || a.query.length > 2000)
      throw new MiradorError(
        'TOOL_INVALID',
        'memory.search needs { query: a string of 1 to 2000 characters, k?: 1 to 20 }',
      )
    const k = a.k === undefined ? 5 : a.k
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > 20)
      throw new MiradorError('TOOL_INVALID', 'memory.search: k must be a whole number from 1 to 20')
    const found = await this.search(a.query, k)
    return {
      results: found.map((m) => ({
        id: m.id,
        text: m.text,
        score: provenance(m).score,
        at: new Date(m.meta.createdAt).toISOString(),
      })),
    }
  }

  #run(runId: string): RunState {
    let run = this.#runs.get(runId)
    if (!run) {
      run = { injected: new Set(), warned: false }
      this.#runs.set(runId, run)
    }
    return run
  }

  /** Memory ranks by words because the bundled encoder is missing: said once (a `memory` event). */
  #sayFallback(ctx: RunContext): void {
    this.configuredEmbedder()
    if (!this.#fallback || this.#saidFallback) return
    this.#saidFallback = true
    ctx.emit({
      type: 'memory',
      fallback: 'hashing',
      message:
        `the bundled sentence encoder cannot load (${this.#fallback}), so memory matches words, not meaning. ` +
        'Reinstall Mirador to get it back, then `mirador memory reindex`.',
    })
  }

  /** The memories are still in another embedder's collection: say how to move them, once a run. */
  #sayIfWaiting(ctx: RunContext): void {
    const active = this.embedder().id
    const configured = this.configuredEmbedder().id
    if (active === configured) return
    ctx.log(
      `memories are embedded with ${active}, config names ${configured}: they are recalled as they are until ` +
        '`mirador memory reindex` embeds them again',
      { level: 'warn', plugin: PLUGIN_NAME },
    )
  }

  /** Recalls once per run: the first call starts it, later ones share it. */
  #startRecall(runId: string, query: string, ctx: RunContext): RunState {
    const run = this.#run(runId)
    // the first use may start the memory server: say so while it starts (the spinner shows it)
    const status = (message: string) => ctx.emit({ type: 'status', message })
    run.recall ??= this.#recall(query, status).then((r) => {
      void this.#sayStoreWarnings(ctx, r.unreadable).catch(() => {})
      return r
    })
    return run
  }

  async #recall(query: string, status: (message: string) => void): Promise<Recalled> {
    const served = await this.#recallFromService(clip(query, this.options.max_turn_chars).text)
    if (served) return { found: served.results, unreadable: served.unreadable, via: 'service' }
    try {
      const store = await this.store(status)
      const found = await this.search(query, RECALL_K)
      return { found, unreadable: store.unreadable(), via: 'run' }
    } catch (error) {
      return { found: [], unreadable: [], via: 'run', error }
    }
  }

  /**
   * The recall the memory service answers (service/), warm in the process that outlives runs;
   * undefined when it cannot (not running yet, a passphrase, CHROMA_URL, an embedder it does not run),
   * and the run recalls by itself, which also starts the server the service lives beside.
   */
  #recallFromService(query: string): Promise<ServedRecall | undefined> {
    const embedder = this.#serviceEmbedder()
    if (!embedder) return Promise.resolve(undefined)
    return recallFromService(this.home, { embedder, query, k: RECALL_K })
  }

  /** the embedder's id when the memory service may be asked about its memories (it runs it itself) */
  #serviceEmbedder(): string | undefined {
    const id = this.embedder().id
    return this.#serviceUsable() && (id.startsWith('hashing-') || id === USE_ID) ? id : undefined
  }

  /**
   * Memories were written: the service's index of words reads them before this resolves, so the next
   * run finds them by their words (no service, or a slow one: its timer brings them, words.ts).
   */
  async #tellService(): Promise<void> {
    const embedder = this.#serviceEmbedder()
    if (embedder) await refreshService(this.home, { embedder })
  }

  /** a $MIRADOR_HOME open to others (once per process), records the recall could not open (each run) */
  async #sayStoreWarnings(ctx: RunContext, unreadable: Unreadable[]): Promise<void> {
    if (unreadable.length) {
      ctx.emit({ type: 'memory', unreadable: unreadable.map((b) => b.id), message: unreadableMessage(unreadable) })
    }
    if (this.#warned) return
    this.#warned = true
    for (const w of (await this.cipher()).warnings) ctx.log(w, { level: 'warn', plugin: PLUGIN_NAME })
  }

  async #inject(prompt: Prompt, ctx: StageContext): Promise<Prompt> {
    const stage = (ctx.spec as { memory?: StageMemory }).memory
    if (stage === false || !ctx.memory || !usesMemory(prompt)) return prompt
    const tune = typeof stage === 'object' ? stage : {}
    const k = tune.k ?? this.options.k
    const threshold = tune.threshold ?? this.threshold()
    const budget = tune.budget_tokens ?? this.options.budget_tokens
    const run = this.#startRecall(ctx.runId, ctx.query, ctx)
    const [{ found, via, error }, session] = await Promise.all([
      run.recall!,
      ctx.session ? this.#sessionContext(ctx) : Promise.resolve(''),
    ])
    if (error !== undefined && !run.warned) {
      run.warned = true
      const e = MiradorError.from(error, 'MEMORY_UNAVAILABLE')
      ctx.emit({
        type: 'memory',
        stage: ctx.stage,
        unavailable: true,
        code: e.code,
        message: `memory is unavailable, so this run goes on without it: ${e.message}`,
      })
    }
    const tuning = tuningFor(this.embedder().id)
    const candidates = found.filter((m) => isRelevant(m, threshold, tuning)).slice(0, k)
    const block = memoryBlock(session, candidates, budget)
    for (const m of block.memories) run.injected.add(m.id)
    if (block.memories.length || session) {
      ctx.emit({
        type: 'memory',
        stage: ctx.stage,
        ids: block.memories.map((m) => m.id),
        scores: block.memories.map((m) => provenance(m)),
        tokens: approxTokens(block.text),
        via,
        ...(ctx.session ? { session: ctx.session, sessionTokens: approxTokens(session) } : {}),
        ...(this.#show ? { text: block.text } : {}),
      })
    }
    return { ...prompt, vars: { ...prompt.vars, memory: block.text } }
  }

  async #sessionContext(ctx: StageContext): Promise<string> {
    const sessions = await this.sessions()
    const c = await sessions.contextFor(ctx.session!, {
      verbatim: this.options.session_verbatim,
      summarize: (texts) => this.#summarize(texts),
    })
    return c.text
  }

  #summarize(texts: string[]): Promise<string> {
    return summarizeWith(this.#applied.host.hooks, this.options.summary_model, texts)
  }

  async #remember(result: RunResult): Promise<void> {
    const run = this.#runs.get(result.runId)
    this.#runs.delete(result.runId)
    if (result.models.length === 0) await this.#stopServerUnused()
    if (!result.ok || !result.answer.trim() || !result.memory) return
    const patterns = this.options.redact_patterns ?? []
    const max = this.options.max_turn_chars
    const query = clip(result.query, max).text
    if (result.session) {
      const sessions = await this.sessions()
      await sessions.appendTurn(result.session, {
        runId: result.runId,
        query,
        answer: clip(result.answer, max).text,
        at: Date.now(),
        chain: result.chain,
      })
    }
    const long = result.answer.length > this.options.summarize_over_chars
    const answer = long
      ? await this.#summarize([clip(result.answer, max).text]).catch(
          () => `${result.answer.slice(0, this.options.summarize_over_chars)}…`,
        )
      : result.answer
    const text = redact(`Q: ${query}\nA: ${answer.trim()}`, patterns).text
    const [embedding] = await this.embedder().embed([text])
    const record: MemoryRecord = {
      id: newRunId().replace(/^r_/, 'm_'),
      text,
      embedding: embedding!,
      meta: {
        chain: result.chain,
        ...(result.session ? { session: result.session } : {}),
        runId: result.runId,
        createdAt: Date.now(),
        kind: long ? 'summary' : 'turn',
        recalls: 0,
      },
    }
    const outbox = await this.outbox()
    try {
      const store = await this.store()
      await outbox.drain((records) => store.add(records))
      await store.add([record])
      const now = Date.now()
      for (const id of run?.injected ?? []) {
        const [m] = await store.get({ ids: [id] })
        if (m) await store.updateMeta(id, { recalls: m.meta.recalls + 1, lastRecalledAt: now })
      }
      await this.#prune(store, record.id)
      await this.#tellService()
    } catch {
      // nothing is lost: it waits, sealed, for the next run that reaches the store
      await outbox.put([record])
    }
  }

  /**
   * A run that failed before any model answered (Ollama down, a model missing) has nothing to
   * remember: the memory server it started for its recall would only idle for its 15 minutes, so it
   * is stopped. One this process found running, or that another run of this process still uses, is
   * left alone; the next use starts it again.
   */
  async #stopServerUnused(): Promise<void> {
    if (!this.#startedServer || this.#runs.size > 0) return
    this.#startedServer = false
    this.#store = undefined
    const { stopChromaServer } = await import('./chroma/server.js')
    await stopChromaServer(this.home).catch(() => false)
  }

  async #prune(store: MemoryStore, justMade: string): Promise<void> {
    const count = await store.count()
    if (count <= this.options.max_memories) return
    const all = await store.get({})
    await store.delete({ ids: leastUseful(all, count - this.options.max_memories, Date.now(), new Set([justMade])) })
  }

  /** Forgets memories, session turns and outbox records; adds counts to `req.removed`. */
  async forget(req: ForgetRequest): Promise<void> {
    const filter = {
      ...(req.ids ? { ids: req.ids } : {}),
      ...(req.session ? { session: req.session } : {}),
      ...(req.before !== undefined ? { before: req.before } : {}),
      ...(req.all ? { all: true } : {}),
    }
    const add = (kind: string, n: number) => (req.removed[kind] = (req.removed[kind] ?? 0) + n)
    const store = await this.store()
    const runIds = req.ids ? (await store.get({ ids: req.ids })).map((m) => m.meta.runId) : []
    // later taps (the learner) forget what they kept of the same runs
    if (runIds.length) req.runIds = [...new Set([...(req.runIds ?? []), ...runIds])]
    const { forgetInStore } = await import('./forget-store.js')
    const cipher = await this.cipher()
    // the store was rebuilt, or its server restarted: the next use opens it afresh
    this.#store = undefined
    const embedderId = this.embedder().id
    add('memories', await forgetInStore({ home: this.home, env: this.#env, cipher, embedderId, store, filter }))
    await this.#forgetInReindexTarget(filter, cipher, embedderId)
    const sessions = await this.sessions()
    if (req.all) add('sessions', await sessions.removeAll())
    else {
      if (req.session) add('sessions', (await sessions.removeSession(req.session)) ? 1 : 0)
      if (req.before !== undefined) add('session turns', await sessions.removeTurnsBefore(req.before))
      if (runIds.length) add('session turns', await sessions.removeRuns(runIds))
    }
    add('waiting in the outbox', await (await this.outbox()).forget(filter))
  }

  /**
   * An interrupted `memory reindex` left copies in the collection it moves to, which the next reindex
   * keeps: what is forgotten goes from there too. (`--all` on the bundled server removed every
   * collection already.)
   */
  async #forgetInReindexTarget(filter: MemoryFilter, cipher: MemoryCipher, activeId: string): Promise<void> {
    const embedderId = this.configuredEmbedder().id
    if (embedderId === activeId || (filter.all && !this.#env[CHROMA_URL_ENV]?.trim())) return
    const { forgetInStore } = await import('./forget-store.js')
    const { openStore } = await import('./open-store.js')
    const store = await openStore({ home: this.home, env: this.#env, cipher, embedderId })
    await forgetInStore({ home: this.home, env: this.#env, cipher, embedderId, store, filter })
  }

  async #replaceKeyAfter(req: ForgetRequest): Promise<void> {
    if (!req.all) return
    this.#cipher = replaceKey({ home: this.home, env: this.#env })
    this.#store = undefined
    // nothing is left in any collection: the next use starts with the embedder config names
    clearActive(this.home)
    this.#embedder = undefined
    await this.#cipher
  }
}

function unreadableMessage(bad: { id: string }[]): string {
  const ids =
    bad
      .slice(0, 3)
      .map((b) => b.id)
      .join(', ') + (bad.length > 3 ? ` and ${bad.length - 3} more` : '')
  return (
    `${bad.length} record(s) in the memory store do not open with your key and were skipped (${ids}): ` +
    'added by something other than Mirador, altered, or sealed with an earlier key. ' +
    '`mirador memory forget ID --yes` removes one.'
  )
}
