/**
 * The model manager on the real llama.cpp runtime: entries that put different adapters on one
 * GGUF share a single loaded base, each gets its own output, and scale 0 leaves the base alone.
 */
import { expect, it } from '@jest/globals'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { Engine } from '../../src/engine/engine.js'
import { ModelsPlugin } from '../../src/plugins/models/index.js'
import { llamaCppStats } from '../../src/runtimes/llamacpp/index.js'
import { registerBuiltinRuntimes } from '../../src/cli/runtimes.js'
import { makeProject } from '../support/cli.js'
import type { LooseEvent } from '../support/events.js'
import { makeLoraAdapter } from '../support/make-lora.js'
import { describeGguf, gguf } from '../support/test-gguf.js'

describeGguf('model manager on llama.cpp', () => {
  it('two adapters on one loaded base: one load, different outputs; scale 0 is the base', async () => {
    const base = gguf()
    const small = 'threads: 1, context_size: 256, chat_wrapper: none'
    const p = makeProject({
      'models/manifest.yaml': `models:
  plain: { runtime: llamacpp, base: "${base}", ${small} }
  poet: { runtime: llamacpp, base: "${base}", lora: ../adapters/poet.gguf, ${small} }
  coder: { runtime: llamacpp, base: "${base}", lora: ../adapters/coder.gguf, ${small} }
  muted: { runtime: llamacpp, base: "${base}", lora: ../adapters/poet.gguf, lora_scale: 0, ${small} }
`,
    })
    mkdirSync(path.join(p.dir, 'adapters'))
    await makeLoraAdapter({ base, out: path.join(p.dir, 'adapters/poet.gguf'), seed: 1 })
    await makeLoraAdapter({ base, out: path.join(p.dir, 'adapters/coder.gguf'), seed: 2 })
    const engine = new Engine({ cwd: p.dir, home: p.home, offline: true, memory: true, config: {} })
    registerBuiltinRuntimes(engine)
    const models = new ModelsPlugin({ manifest: path.join(p.dir, 'models/manifest.yaml') })
    engine.use(models)
    const events: LooseEvent[] = []
    engine.hooks.event.tap('Collect', (e) => void events.push(e as LooseEvent))
    const loadsBefore = llamaCppStats().modelLoads
    const opts = { temperature: 0, max_tokens: 20 }
    const r = await engine.run({
      chain: {
        name: 'ab',
        value: {
          stages: {
            plain: { model: 'plain', prompt: 'Once upon a time', options: opts },
            poet: { model: 'poet', prompt: 'Once upon a time', options: opts },
            coder: { model: 'coder', prompt: 'Once upon a time', options: opts },
            muted: { model: 'muted', prompt: 'Once upon a time', options: opts },
          },
        },
      },
      query: 'q',
    })
    expect(r.ok).toBe(true)
    const out = Object.fromEntries(r.stages.map((s) => [s.stage, s.output]))
    expect(out.plain!.startsWith(', there was a little girl named Lily')).toBe(true)
    expect(out.poet).not.toBe(out.plain)
    expect(out.coder).not.toBe(out.plain)
    expect(out.coder).not.toBe(out.poet)
    expect(out.muted).toBe(out.plain)
    // one base, loaded once, whatever rides on it
    expect(events.filter((e) => e.type === 'model-load')).toHaveLength(1)
    expect(llamaCppStats().modelLoads - loadsBefore).toBe(1)
    await engine.dispose()
  })

  it('an adapter outside the project and MIRADOR_HOME is refused with its position', async () => {
    const p = makeProject({
      'models/manifest.yaml': `models:\n  bad: { runtime: llamacpp, base: "${gguf()}", lora: /etc/hostname }\n`,
    })
    const engine = new Engine({ cwd: p.dir, home: p.home, offline: true, memory: true, config: {} })
    registerBuiltinRuntimes(engine)
    engine.use(new ModelsPlugin({ manifest: path.join(p.dir, 'models/manifest.yaml') }))
    const events: LooseEvent[] = []
    engine.hooks.event.tap('Collect', (e) => void events.push(e as LooseEvent))
    await engine.run({ chain: { name: 'c', value: { stages: { s: { model: 'bad', prompt: 'x' } } } }, query: 'q' })
    expect(events.find((e) => e.type === 'error')).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(
        /manifest\.yaml:2:\d+: models\.bad\.lora: the adapter \/etc\/hostname is outside the project/,
      ),
    })
  })
})
