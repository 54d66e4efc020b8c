/**
 * Good files load with the right values; the public API behaves as documented; schema errors
 * read well and point at the right node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { isMap } from 'yaml'
import {
  getValidator,
  loadConfigFile,
  loadConfigText,
  locate,
  validateConfigFile,
  type ChainFile,
  type ConfigKind,
  type Loaded,
  type ManifestFile,
  type MiradorConfig,
  type ProfileFile,
  type ToolFile,
} from '../../src/engine/config/index.js'
import { MiradorError } from '../../src/engine/errors.js'

const GOOD = 'test/fixtures/config/good'

function thrown(fn: () => unknown): MiradorError {
  try {
    fn()
  } catch (e) {
    if (e instanceof MiradorError) return e
    throw e
  }
  throw new Error('expected an error')
}

const scratch = mkdtempSync(join(tmpdir(), 'mirador-load-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
let counter = 0

/** Every message validateConfigFile reports for a text. */
async function allMessages(text: string, kind: ConfigKind): Promise<string[]> {
  const file = join(scratch, `t-${counter++}.yaml`)
  writeFileSync(file, text)
  return (await validateConfigFile(file, kind)).errors.map((e) => e.message)
}

describe('good files', () => {
  it('a chain with every key', async () => {
    const loaded = await loadConfigFile<ChainFile>(`${GOOD}/chains/full.yaml`, 'chain')
    const c = loaded.value
    expect(loaded.file).toBe(`${GOOD}/chains/full.yaml`)
    expect(c.name).toBe('full-chain')
    expect(c.answer).toEqual(['deep', 'quick'])
    expect(c.triggers).toEqual(['plan', 'focus'])
    expect(c.weights).toEqual({ planning: 0.7, chat: 0 })
    expect(Object.keys(c.stages)).toEqual(['quick', 'deep']) // in file order
    expect(c.stages.quick).toEqual({
      model: 'quick',
      prompt: 'Answer briefly: {{query}}',
      system: 'You are concise.',
      options: { temperature: 0.4, num_ctx: 2048, max_tokens: 256, top_p: 0.9, top_k: 40, seed: 1, stop: ['\n\n'] },
      confidence: 0.6,
      timeout_ms: 60000,
    })
    expect(c.stages.deep!.prompt).toBe(
      'Think it through, then answer.\nQuestion: {{query}}\nDraft: {{stages.quick.output}}\n',
    )
    expect(c.stages.deep!.skip_when).toEqual({ stage: 'quick', confidence_above: 0.85 })
    expect(c.stages.deep!.after).toEqual(['quick'])
    // the Document keeps comments, for files the program rewrites
    expect(isMap(loaded.doc.contents)).toBe(true)
    expect(String(loaded.doc)).toContain('# A chain that uses every key the schema knows.')
  })

  it('a chain without name takes its file name', async () => {
    const c = await loadConfigFile<ChainFile>(`${GOOD}/chains/minimal.yaml`, 'chain')
    expect(c.value.name).toBe('minimal')
  })

  it('a file name that is not a valid name asks for a name: key', () => {
    const e = thrown(() => loadConfigText('stages: { a: { model: m, prompt: p } }\n', 'chains/My Chain.yaml', 'chain'))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toContain('the file name "My Chain" is not a valid chain name')
    expect(
      loadConfigText<ChainFile>('name: mine\nstages: { a: { model: m, prompt: p } }\n', 'chains/My Chain.yaml', 'chain')
        .value.name,
    ).toBe('mine')
  })

  it('a manifest', async () => {
    const m = (await loadConfigFile<ManifestFile>(`${GOOD}/models/manifest.yaml`, 'manifest')).value
    expect(m.budget).toEqual({ memory_gb: 8, max_loaded: 2 })
    expect(m.models.quick).toEqual({
      runtime: 'ollama',
      base: 'llama3.2:1b',
      host: 'http://127.0.0.1:11434',
      keep_alive: '5m',
      size_gb: 1.3,
      priority: 1,
      triggers: ['quick'],
    })
    expect(m.models.deep!.keep_alive).toBe(300)
    expect(m.models.tiny).toEqual({
      runtime: 'llamacpp',
      file: '${MIRADOR_GGUF}',
      threads: 1,
      context_size: 512,
      size_gb: 0.001,
    })
    expect(m.models['hf.co/org/model:Q4_K_M']!.base).toBe('hf.co/org/model:Q4_K_M')
    expect((m as { name?: string }).name).toBeUndefined() // only chains, profiles and tools get a default name
  })

  it('memory_gb may be "auto"', () => {
    const m = loadConfigText<ManifestFile>('budget: { memory_gb: auto }\nmodels: {}\n', 'm.yaml', 'manifest').value
    expect(m.budget!.memory_gb).toBe('auto')
  })

  it('a config', async () => {
    const c = (await loadConfigFile<MiradorConfig>(`${GOOD}/mirador.config.yaml`, 'config')).value
    expect(c).toEqual({
      plugins: [
        './examples/plugins/today',
        { name: 'mirador-plugin-x', options: { any: 'thing', nested: { deep: [1, 2] } } },
        '@scope/mirador-plugin-y',
      ],
      builtins: { models: true, memory: false },
      ollama: { host: 'http://127.0.0.1:11434', first_token_timeout_ms: 120000, idle_timeout_ms: 60000, pull: true },
      llamacpp: { threads: 1, context_size: 2048 },
      offline: false,
      memory: 'on',
      profile: 'balanced',
    })
  })

  it('a profile', async () => {
    const p = (await loadConfigFile<ProfileFile>(`${GOOD}/profiles/battery-saver.yaml`, 'profile')).value
    expect(p).toEqual({
      name: 'battery-saver',
      description: 'On battery below 30%, use small models and one stage at a time.',
      priority: 10,
      when: { battery_below: 30, plugged: false },
      substitute: { deep: 'quick', 'llama3.2:3b': 'llama3.2:1b' },
      max_size_gb: 2,
      drop_stages: ['critique'],
      concurrency: false,
      num_ctx_max: 2048,
      keep_alive: '30s',
      memory: 'off',
    })
  })

  it('a tool', async () => {
    const t = (await loadConfigFile<ToolFile>(`${GOOD}/tools/today.yaml`, 'tool')).value
    expect(t.name).toBe('today')
    expect(t.parameters).toEqual({
      type: 'object',
      properties: { timezone: { type: 'string', description: 'IANA time zone, e.g. Europe/Paris' } },
      required: ['timezone'],
      additionalProperties: false,
    })
    expect(t.source).toBe('./today.js')
    expect(t.limits).toEqual({ timeout_ms: 1000, memory_mb: 32, max_output_bytes: 4096 })
    expect(t.capabilities).toEqual(['memory.search'])
  })

  it('tool sources: relative .js/.mjs paths only', () => {
    const tool = (source: string) => `description: d\nparameters: { type: object }\nsource: "${source}"\n`
    for (const ok of ['./today.js', 'today.mjs', 'lib/today.js', './a..b.js']) {
      expect(loadConfigText<ToolFile>(tool(ok), 'tools/t.yaml', 'tool').value.source).toBe(ok)
    }
    for (const bad of [
      '../today.js',
      'lib/../../x.js',
      '/abs/x.js',
      'C:/x.js',
      'lib\\\\x.js',
      'x.ts',
      'x.js/..',
      '..',
    ]) {
      expect(thrown(() => loadConfigText(tool(bad), 'tools/t.yaml', 'tool')).code).toBe('CONFIG_INVALID')
    }
  })
})

describe('messages', () => {
  it('unknown key: points at the key, lists the allowed keys', () => {
    const e = thrown(() =>
      loadConfigText('stages:\n  quick:\n    model: m\n    prompt: p\n    temprature: 1\n', 'c.yaml', 'chain'),
    )
    expect(e.location).toEqual({ file: 'c.yaml', line: 5, column: 5 })
    expect(e.message).toBe(
      'stages.quick: unknown key "temprature". ' +
        'Allowed keys: model, prompt, system, options, confidence, after, skip_when, format, timeout_ms.',
    )
    expect(e.details).toMatchObject({ key: 'temprature', schemaPath: expect.stringContaining('additionalProperties') })
  })

  it('type errors point at the value', () => {
    const e = thrown(() =>
      loadConfigText(
        'stages:\n  quick:\n    model: m\n    prompt: p\n    options:\n      num_ctx: lots\n',
        'c.yaml',
        'chain',
      ),
    )
    expect(e.location).toEqual({ file: 'c.yaml', line: 6, column: 16 })
    expect(e.message).toBe('stages.quick.options.num_ctx: must be a whole number (got "lots").')
    expect(e.details).toMatchObject({ key: 'num_ctx', path: 'stages.quick.options.num_ctx' })
  })

  it('an empty value points at its key', () => {
    const e = thrown(() => loadConfigText('stages:\n  quick:\n    model:\n    prompt: p\n', 'c.yaml', 'chain'))
    expect(e.location).toEqual({ file: 'c.yaml', line: 3, column: 5 })
    expect(e.message).toContain('stages.quick.model: is empty; expected text.')
  })

  it('anyOf cascades collapse into one message', async () => {
    const res = await allMessages('plugins: [3]\nbudget: x\n', 'config')
    expect(res).toEqual([
      expect.stringContaining('plugins[0]: must be a plugin package name or path'),
      'unknown key "budget". Allowed keys: plugins, builtins, mcp, ollama, llamacpp, offline, memory, profile, ' +
        'serve, chat.',
    ])
    const m = await allMessages('budget: { memory_gb: -2 }\nmodels: {}\n', 'manifest')
    expect(m).toEqual(['budget.memory_gb: must be a number of GB greater than 0, or "auto" (got -2).'])
  })

  it('if/then cascades collapse into the missing key', async () => {
    expect(await allMessages('models:\n  q: { runtime: ollama }\n', 'manifest')).toEqual([
      'models.q: missing required key "base": ' +
        'an ollama model needs base: the Ollama model tag, e.g. base: "llama3.2:1b".',
    ])
  })

  it('keys in a {name, options} plugin are checked as such', async () => {
    expect(await allMessages('plugins: [{ name: x, option: {} }]\n', 'config')).toEqual([
      'plugins[0]: unknown key "option". Did you mean "options"? Allowed keys: name, options, optional, trusted.',
    ])
  })

  it('yes/no for booleans says to use true/false', async () => {
    expect(await allMessages('ollama: { pull: no }\n', 'config')).toEqual([
      'ollama.pull: must be true or false (got "no"). Mirador reads YAML 1.2, where no is text: use true/false.',
    ])
  })

  it('quoted numbers say to remove the quotes', async () => {
    expect(await allMessages('llamacpp: { threads: "4" }\n', 'config')).toEqual([
      'llamacpp.threads: must be a whole number (got "4"). ' +
        'Remove the quotes (and any _ separators) so that it reads as a number.',
    ])
  })

  it('a duplicate in a list names it', async () => {
    expect(
      await allMessages(
        'answer: [a, b, a]\nstages: { a: { model: m, prompt: p }, b: { model: m, prompt: p } }\n',
        'chain',
      ),
    ).toEqual(['answer: lists "a" twice (items 0 and 2). Remove the duplicate.'])
  })
})

describe('validateConfigFile', () => {
  it('reports all errors, in file order', async () => {
    const file = join(scratch, `many-${counter++}.yaml`)
    writeFileSync(
      file,
      'name: Bad\nstages:\n  quick:\n    modle: m\n    prompt: ""\n    options: { temperature: 3, top_k: 0 }\n' +
        '  deep:\n    model: m\n    prompt: p\n    after: [nope!]\n',
    )
    const res = await validateConfigFile(file, 'chain')
    expect(res.ok).toBe(false)
    expect(res.errors.map((e) => `${e.location!.line}:${e.location!.column} ${e.message}`)).toEqual([
      '1:7 name: must be a lowercase letter followed by a-z, 0-9, _ or - (at most 64 characters in all), ' +
        'e.g. quick-deep (got "Bad").',
      '4:5 stages.quick: unknown key "modle". Did you mean "model"? ' +
        'Allowed keys: model, prompt, system, options, confidence, after, skip_when, format, timeout_ms.',
      '5:13 stages.quick.prompt: must not be empty. Give the prompt template, e.g. "Answer briefly: {{query}}".',
      '6:29 stages.quick.options.temperature: must be <= 2 (got 3). Set a temperature between 0 and 2.',
      '6:39 stages.quick.options.top_k: must be >= 1 (got 0). Set a top_k between 1 and 1000.',
      '10:13 stages.deep.after[0]: must be the name of a stage of this chain, e.g. quick (got "nope!").',
    ])
    expect(res.errors.every((e) => e.code === 'CONFIG_INVALID')).toBe(true)
    expect(res.value).toMatchObject({ name: 'Bad' })
  })

  it('reports all YAML-level problems of a file together', async () => {
    const file = join(scratch, `yaml-${counter++}.yaml`)
    writeFileSync(file, 'offline: !!binary aGk=\nprofile: !x y\nmemory: "on\n')
    const res = await validateConfigFile(file, 'config')
    expect(res.errors.map((e) => [e.code, e.location!.line])).toEqual([
      ['CONFIG_UNSAFE', 1],
      ['CONFIG_UNSAFE', 2],
      ['CONFIG_SYNTAX', 4],
    ])
  })

  it('ok with the value for a good file', async () => {
    const res = await validateConfigFile(`${GOOD}/chains/minimal.yaml`, 'chain')
    expect(res).toEqual({
      ok: true,
      errors: [],
      value: { name: 'minimal', stages: { only: { model: 'quick', prompt: '{{query}}' } } },
    })
  })

  it('a missing file is an error in the list, not a throw', async () => {
    const res = await validateConfigFile('nope/none.yaml', 'chain')
    expect(res.ok).toBe(false)
    expect(res.errors[0]!.code).toBe('CONFIG_NOT_FOUND')
  })
})

describe('locate', () => {
  const text = 'stages:\n  quick:\n    model: m\n    prompt: p\n    after: [a, b]\n  deep: { model: m, prompt: p }\n'
  let loaded: Loaded<ChainFile>
  it('maps paths to positions of values, keys and list items', () => {
    loaded = loadConfigText<ChainFile>(text, 'chains/c.yaml', 'chain')
    expect(locate(loaded, ['stages', 'quick', 'model'])).toEqual({ file: 'chains/c.yaml', line: 3, column: 12 })
    expect(locate(loaded, ['stages', 'quick', 'after', 1])).toEqual({ file: 'chains/c.yaml', line: 5, column: 16 })
    expect(locate(loaded, ['stages', 'deep'])).toEqual({ file: 'chains/c.yaml', line: 6, column: 9 })
    expect(locate(loaded, ['stages', 'deep'], 'key')).toEqual({ file: 'chains/c.yaml', line: 6, column: 3 })
    expect(locate(loaded, [])).toEqual({ file: 'chains/c.yaml', line: 1, column: 1 })
  })

  it('falls back to the deepest node found', () => {
    expect(locate(loaded, ['stages', 'deep', 'options', 'temperature'])).toEqual({
      file: 'chains/c.yaml',
      line: 6,
      column: 3,
    })
    expect(locate(loaded, ['nothing', 'here'])).toEqual({ file: 'chains/c.yaml', line: 1, column: 1 })
  })

  it('follows aliases', () => {
    const l = loadConfigText(
      'stages:\n  a: { model: m, prompt: p, options: &o { temperature: 0.2 } }\n' +
        '  b: { model: m, prompt: p, options: *o }\n',
      'c.yaml',
      'chain',
    )
    expect(locate(l, ['stages', 'b', 'options', 'temperature'])).toEqual({ file: 'c.yaml', line: 2, column: 56 })
  })
})

describe('plugin stage keys', () => {
  const chain = 'stages:\n  quick:\n    model: m\n    prompt: p\n    memory: { k: 3 }\n'
  const extra = {
    memory: {
      type: 'object',
      description: 'memory injection',
      properties: { k: { type: 'integer', minimum: 1 } },
      additionalProperties: false,
    },
  }

  it('are unknown keys without the plugin, valid with it', () => {
    expect(thrown(() => loadConfigText(chain, 'c.yaml', 'chain')).message).toContain('unknown key "memory"')
    const l = loadConfigText<ChainFile>(chain, 'c.yaml', 'chain', { extraStageProperties: extra })
    expect(l.value.stages.quick).toHaveProperty('memory', { k: 3 })
  })

  it('are validated by their schema and listed among the allowed keys', () => {
    const e = thrown(() =>
      loadConfigText(chain.replace('k: 3', 'k: 0'), 'c.yaml', 'chain', { extraStageProperties: extra }),
    )
    expect(e.message).toBe('stages.quick.memory.k: must be >= 1 (got 0). Set a k of at least 1.')
    const u = thrown(() =>
      loadConfigText(chain.replace('memory', 'memroy'), 'c.yaml', 'chain', { extraStageProperties: extra }),
    )
    expect(u.message).toContain('Did you mean "memory"?')
    expect(u.message).toContain('timeout_ms, memory.')
  })

  it('compile once per distinct set (key order does not matter)', () => {
    const a = getValidator('chain', { x: { type: 'string' }, y: { type: 'number' } })
    const b = getValidator('chain', { y: { type: 'number' }, x: { type: 'string' } })
    expect(a).toBe(b)
    expect(getValidator('chain')).toBe(getValidator('chain', {}))
    expect(getValidator('chain')).not.toBe(a)
  })

  it('may not redefine a built-in key, and must be valid schemas', () => {
    expect(() => getValidator('chain', { model: { type: 'number' } })).toThrow(/already defines/)
    expect(() => getValidator('chain', { bad: { type: 'nonsense' } })).toThrow(/not a valid JSON Schema/)
    try {
      getValidator('chain', { model: { type: 'number' } })
    } catch (e) {
      expect(MiradorError.is(e, 'PLUGIN_API')).toBe(true)
    }
  })

  it('only apply to chains', () => {
    expect(loadConfigText('offline: true\n', 'c.yaml', 'config', { extraStageProperties: extra }).value).toEqual({
      offline: true,
    })
  })
})
