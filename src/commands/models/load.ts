import { Args } from '@oclif/core'
import type { RunEvent } from '../../engine/events.js'
import { MiradorCommand } from '../base.js'
import { liveRenderer } from '../../cli/render/live.js'
import { plainRenderer } from '../../cli/render/plain.js'
import { modelsSetup } from './base.js'

export default class ModelsLoad extends MiradorCommand {
  static summary = 'Make a model ready now: pull it if absent, create it with its adapter, load it into memory.'
  static description =
    'What a chain would do the first time a stage needs the model, done ahead of time, ' +
    "within the manifest's budget (idle models are evicted to make room). " +
    'Ollama keeps the model loaded for its keep_alive. A llama.cpp model lives in the process that uses it: ' +
    'this checks that it and its adapters load, and how long that takes.'
  static examples = ['<%= config.bin %> models load quick', '<%= config.bin %> models load deep --json']
  static args = { name: Args.string({ description: 'a manifest entry (or an Ollama tag)', required: true }) }

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(ModelsLoad)
    const s = await modelsSetup(flags.config as string | undefined)
    const r = await s.models.resolve(args.name)
    const manager = await s.models.manager()
    const events: RunEvent[] = []
    // pulls, evictions and waits are drawn as a run draws them, on stderr (stdout is the result)
    const err = process.stderr
    const renderer = this.jsonEnabled() ? undefined : err.isTTY ? liveRenderer(err, err) : plainRenderer(err, err)
    const t0 = performance.now()
    const emit = (e: Omit<RunEvent, 'runId' | 't'>) => {
      const event = { ...e, runId: '', t: Math.round(performance.now() - t0) } as RunEvent
      events.push(event)
      if (event.type !== 'model-load') renderer?.event(event)
    }
    let slot
    try {
      slot = (await manager.acquire(r, s.models.runtime(r), emit)).slot
    } finally {
      renderer?.close()
    }
    manager.release(slot)
    await s.models.saveUsage()
    const load = events.find((e) => e.type === 'model-load') as { ms?: number; evicted?: string[] } | undefined
    const ms = Math.round(performance.now() - t0)
    const result = {
      model: r.name,
      runtime: r.runtime,
      as: slot.model,
      loaded: !!load,
      ms: load?.ms ?? ms,
      sizeGb: slot.sizeGb,
      evicted: load?.evicted ?? [],
    }
    if (!this.jsonEnabled()) {
      this.log(
        load
          ? `✓ ${r.name} ready (${slot.model}) in ${String(load.ms ?? ms)} ms`
          : `✓ ${r.name} was already loaded (${slot.model})`,
      )
      if (r.runtime === 'llamacpp')
        this.log('  llama.cpp models live in the process that uses them: a chain run loads it again, once.')
    }
    await s.engine.dispose()
    return result
  }
}
