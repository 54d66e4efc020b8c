import { Args } from '@oclif/core'
import type { RunEvent } from '../../engine/events.js'
import { MiradorCommand } from '../base.js'
import { pullLine } from '../../cli/render/lines.js'
import { modelsSetup } from './base.js'

export default class ModelsLoad extends MiradorCommand {
  static summary = 'Make a model ready now: pull it if absent, create it with its adapter, load it into memory.'
  static description =
    "What a chain would do the first time a stage needs the model, done ahead of time, within the manifest's budget (idle models are evicted to make room). Ollama keeps the model loaded for its keep_alive. A llama.cpp model lives in the process that uses it: this checks that it and its adapters load, and how long that takes."
  static examples = ['<%= config.bin %> models load quick', '<%= config.bin %> models load deep --json']
  static args = { name: Args.string({ description: 'a manifest entry (or an Ollama tag)', required: true }) }

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(ModelsLoad)
    const s = await modelsSetup(flags.config as string | undefined)
    const r = await s.models.resolve(args.name)
    const manager = await s.models.manager()
    const events: Record<string, unknown>[] = []
    let progress = ''
    const emit = (e: Record<string, unknown> & { type: string }) => {
      events.push(e)
      if (this.jsonEnabled()) return
      if (e.type === 'model-pull') {
        const line = pullLine(e as unknown as Parameters<typeof pullLine>[0])
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`)
        else if (line !== progress && !/\d+%/.test(line)) process.stderr.write(line + '\n')
        progress = line
      } else if (e.type === 'model-evict') this.log(`evicted ${String(e.model)} (${String(e.reason)})`)
      else if (e.type === 'model-wait') this.log(String(e.reason))
      else if (e.type === 'error') this.logToStderr(`✗ ${String(e.code)}: ${String(e.message)}`)
    }
    const t0 = performance.now()
    const { slot } = await manager.acquire(r, s.models.runtime(r), emit as unknown as (e: RunEvent) => void)
    manager.release(slot)
    await s.models.saveUsage()
    if (process.stderr.isTTY && progress) process.stderr.write('\n')
    const load = events.find((e) => e.type === 'model-load')
    const ms = Math.round(performance.now() - t0)
    const result = {
      model: r.name,
      runtime: r.runtime,
      as: slot.model,
      loaded: !!load,
      ms: load ? load.ms : ms,
      sizeGb: slot.sizeGb,
      evicted: (load?.evicted as string[] | undefined) ?? [],
    }
    if (!this.jsonEnabled()) {
      this.log(
        load
          ? `✓ ${r.name} ready (${slot.model}) in ${String(load.ms)} ms`
          : `✓ ${r.name} was already loaded (${slot.model})`,
      )
      if (r.runtime === 'llamacpp')
        this.log('  llama.cpp models live in the process that uses them: a chain run loads it again, once.')
    }
    await s.models.dispose()
    return result
  }
}
