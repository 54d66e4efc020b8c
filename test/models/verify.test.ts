/**
 * The checks a manifest entry's GGUF base and adapter pass before they load (src/plugins/models/
 * verify.ts), on copies of the real stories260K model (MIRADOR_TEST_GGUF) made in a temp folder:
 * truncated, with a flipped magic, with a corrupted tensor offset; sha256 pins right and wrong; the
 * hash cache; adapters for another architecture or for layers the base lacks; and a run whose model
 * fails its checks never reaches llama.cpp.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { registerBuiltinRuntimes } from '../../src/cli/runtimes.js'
import { Engine } from '../../src/engine/engine.js'
import { MiradorError } from '../../src/engine/errors.js'
import { ModelsPlugin } from '../../src/plugins/models/index.js'
import { hashCacheFile } from '../../src/plugins/models/hash-cache.js'
import type { FileReport } from '../../src/plugins/models/verify.js'
import { llamaCppStats } from '../../src/runtimes/llamacpp/index.js'
import { makeProject } from '../support/cli.js'
import type { LooseEvent } from '../support/events.js'
import { gv, readGguf, writeGguf, writeLargeGguf } from '../support/gguf.js'
import { makeLoraAdapter } from '../support/make-lora.js'
import { describeGguf, gguf } from '../support/test-gguf.js'

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

/** A project whose manifest is `manifest` (base paths are relative to models/), with the plugin applied. */
function setUp(manifest: string, files: Record<string, Buffer> = {}) {
  const p = makeProject({ 'models/manifest.yaml': manifest })
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(p.dir, rel)), { recursive: true })
    writeFileSync(path.join(p.dir, rel), data)
  }
  return { ...p, ...plugin(p) }
}

/** A fresh engine and models plugin on the project (as a new process would have). */
function plugin(p: { dir: string; home: string }) {
  const engine = new Engine({ cwd: p.dir, home: p.home, offline: true, memory: true, config: {} })
  registerBuiltinRuntimes(engine)
  const models = new ModelsPlugin({ manifest: path.join(p.dir, 'models/manifest.yaml') })
  engine.use(models)
  const check = async (name: string, options = {}) => models.verifier().check(await models.resolve(name), options)
  return { engine, models, check }
}

function only(reports: FileReport[], role: 'base' | 'adapter'): FileReport {
  const r = reports.find((x) => x.role === role)
  if (!r) throw new Error(`no ${role} report in ${JSON.stringify(reports)}`)
  return r
}

/** The error of a file's report, as a user sees it (`file:line:col: message`) with its code. */
function errorOf(report: FileReport): { code: string; text: string } {
  if (!report.error) throw new Error(`expected an error for ${report.path}, got ${JSON.stringify(report)}`)
  expect(MiradorError.is(report.error)).toBe(true)
  return { code: report.error.code, text: report.error.format() }
}

/** Byte position of the u64 data offset of tensor `name` in the tensor table of `buf`. */
function offsetField(buf: Buffer, name: string, dims: number): number {
  const at = buf.indexOf(Buffer.from(name, 'utf8'))
  if (at < 8 || buf.readBigUInt64LE(at - 8) !== BigInt(Buffer.byteLength(name))) throw new Error(`no ${name}`)
  return at + Buffer.byteLength(name) + 4 + 8 * dims + 4
}

describeGguf('model files are checked before they load', () => {
  it('a good GGUF passes: header, tensor table and data layout read from the file', async () => {
    const { check, models } = setUp(`models:\n  story: { runtime: llamacpp, base: "${gguf()}" }\n`)
    const base = only(await check('story'), 'base')
    expect(base.error).toBeUndefined()
    expect(base).toMatchObject({
      path: gguf(),
      bytes: readFileSync(gguf()).length,
      gguf: { version: 3, tensors: 48, architecture: 'llama', type: 'model' },
    })
    expect(base.sha256).toBeUndefined() // nothing pinned, nothing hashed
    expect(models.verifier().stats.hashed).toBe(0)
  })

  it('a truncated copy is refused as truncated, naming the manifest line, the file and what to do', async () => {
    const whole = readFileSync(gguf())
    const { check } = setUp(
      'models:\n  cut: { runtime: llamacpp, base: cut.gguf }\n  header: { runtime: llamacpp, base: header.gguf }\n',
      { 'models/cut.gguf': whole.subarray(0, whole.length - 1000), 'models/header.gguf': whole.subarray(0, 5000) },
    )
    const cut = errorOf(only(await check('cut'), 'base'))
    expect(cut.code).toBe('MODEL_INVALID')
    expect(cut.text).toMatch(/manifest\.yaml:2:\d+: model "cut": the GGUF file \/.*\/models\/cut\.gguf cannot be used/)
    expect(cut.text).toMatch(
      new RegExp(
        `its tensor blk\\.\\d+\\.[\\w.]+ \\(\\d+ of 48\\), F32 \\[.*\\], needs bytes \\d+ to \\d+, ` +
          `but the file ends at byte ${whole.length - 1000}: the file is truncated`,
      ),
    )
    expect(cut.text).toMatch(/Download it again/)
    // cut inside the header (its vocabulary): caught there, not read as zeros
    const header = errorOf(only(await check('header'), 'base'))
    expect(header.text).toMatch(/manifest\.yaml:3:\d+: .*header\.gguf cannot be used: .*truncated/)
  })

  it('a flipped magic is "not a GGUF file"', async () => {
    const buf = Buffer.from(readFileSync(gguf()))
    buf.write('FUGG', 0, 'latin1')
    const { check } = setUp('models:\n  flipped: { runtime: llamacpp, base: flipped.gguf }\n', {
      'models/flipped.gguf': buf,
    })
    const e = errorOf(only(await check('flipped'), 'base'))
    expect(e.code).toBe('MODEL_INVALID')
    expect(e.text).toMatch(/flipped\.gguf cannot be used: it is not a GGUF file \(it starts with "FUGG"/)
  })

  it('a corrupted tensor offset is caught in the tensor table', async () => {
    const original = await readGguf(gguf())
    const t = original.tensors[10]!
    const moved = Buffer.from(readFileSync(gguf()))
    moved.writeBigUInt64LE(BigInt(t.offset + 64), offsetField(moved, t.name, t.dims.length))
    const unaligned = Buffer.from(readFileSync(gguf()))
    unaligned.writeBigUInt64LE(BigInt(t.offset + 3), offsetField(unaligned, t.name, t.dims.length))
    const beyond = Buffer.from(readFileSync(gguf()))
    beyond.writeBigUInt64LE(2n ** 40n, offsetField(beyond, t.name, t.dims.length))
    const { check } = setUp(
      'models:\n' +
        '  moved: { runtime: llamacpp, base: moved.gguf }\n' +
        '  unaligned: { runtime: llamacpp, base: unaligned.gguf }\n' +
        '  beyond: { runtime: llamacpp, base: beyond.gguf }\n',
      { 'models/moved.gguf': moved, 'models/unaligned.gguf': unaligned, 'models/beyond.gguf': beyond },
    )
    const corrupt = new RegExp(`tensor ${t.name.replace(/\./g, '\\.')} \\(11 of 48\\) has the data offset`)
    for (const name of ['moved', 'beyond']) {
      const e = errorOf(only(await check(name), 'base'))
      expect([name, e.code]).toEqual([name, 'MODEL_INVALID'])
      expect(e.text).toMatch(corrupt)
      expect(e.text).toMatch(/the tensor table is corrupt/)
    }
    expect(errorOf(only(await check('unaligned'), 'base')).text).toMatch(/not a multiple of the alignment 32/)
  })

  it('a sha256 pin: the right one passes (hashed once), a wrong one is refused at the pin', async () => {
    const right = sha256(gguf())
    const wrong = '0'.repeat(64)
    const { check, models } = setUp(
      'models:\n' +
        `  pinned: { runtime: llamacpp, base: "${gguf()}", sha256: ${right.toUpperCase()} }\n` +
        `  wrong:\n    runtime: llamacpp\n    base: "${gguf()}"\n    sha256: "${wrong}"\n`,
    )
    const ok = only(await check('pinned'), 'base')
    expect(ok.error).toBeUndefined()
    expect(ok.sha256).toEqual({ actual: right, pinned: right, cached: false })
    expect(models.verifier().stats.hashed).toBe(1)

    const bad = errorOf(only(await check('wrong'), 'base'))
    expect(bad.code).toBe('MODEL_INVALID')
    // the position of the pin (line 6, after "    sha256: "), both hashes, what to do
    expect(bad.text).toMatch(/manifest\.yaml:6:13: model "wrong": the GGUF file .*stories260K\.gguf has sha256 /)
    expect(bad.text).toContain(`has sha256 ${right}, not the ${wrong} pinned in the manifest`)
    expect(bad.text).toMatch(/Download it again; if you replaced it on purpose, put its sha256 in the manifest\.$/)
    // the file's hash was in the cache: the wrong pin cost no second hashing
    expect(models.verifier().stats.hashed).toBe(1)
  })

  it('a cached hash is not hashed again by a new process; a changed file is', async () => {
    const right = sha256(gguf())
    const p = makeProject({})
    copyFileSync(gguf(), path.join(p.dir, 'm.gguf'))
    mkdirSync(path.join(p.dir, 'models'))
    writeFileSync(
      path.join(p.dir, 'models/manifest.yaml'),
      `models:\n  m: { runtime: llamacpp, base: ../m.gguf, sha256: ${right} }\n`,
    )
    const first = plugin(p)
    expect(only(await first.check('m'), 'base').sha256).toEqual({ actual: right, pinned: right, cached: false })
    expect(first.models.verifier().stats.hashed).toBe(1)
    const cache = JSON.parse(readFileSync(hashCacheFile(p.home), 'utf8'))
    expect(cache.files[path.join(p.dir, 'm.gguf')]).toMatchObject({ sha256: right, size: readFileSync(gguf()).length })

    const second = plugin(p) // as another process: its own verifier, the same MIRADOR_HOME
    expect(only(await second.check('m'), 'base').sha256).toEqual({ actual: right, pinned: right, cached: true })
    expect(second.models.verifier().stats.hashed).toBe(0)

    // same size, new mtime: hashed again (and still right)
    utimesSync(path.join(p.dir, 'm.gguf'), new Date(), new Date(Date.now() - 60_000))
    const third = plugin(p)
    expect(only(await third.check('m'), 'base').sha256).toMatchObject({ cached: false })
    expect(third.models.verifier().stats.hashed).toBe(1)
    // --rehash ignores the cache
    expect(only(await third.check('m', { rehash: true }), 'base').sha256).toMatchObject({ cached: false })
    expect(third.models.verifier().stats.hashed).toBe(2)
  })

  it('adapters: one for this base passes and says what was compared; another architecture is refused', async () => {
    const r = 2
    const pair = (name: string, nIn: number, nOut: number) => [
      { name: `${name}.lora_a`, dims: [nIn, r], data: new Float32Array(nIn * r) },
      { name: `${name}.lora_b`, dims: [r, nOut], data: new Float32Array(r * nOut) },
    ]
    const meta = (arch: string) => ({
      'general.architecture': gv.str(arch),
      'general.type': gv.str('adapter'),
      'adapter.type': gv.str('lora'),
      'adapter.lora.alpha': gv.f32(r),
    })
    const { check, dir } = setUp(
      'models:\n' +
        `  poet: { runtime: llamacpp, base: "${gguf()}", lora: ../adapters/poet.gguf }\n` +
        `  gpt: { runtime: llamacpp, base: "${gguf()}", lora: ../adapters/gpt2.gguf }\n` +
        `  deep: { runtime: llamacpp, base: "${gguf()}", lora: ../adapters/deep.gguf }\n` +
        `  swapped: { runtime: llamacpp, base: ../adapters/poet.gguf, lora: ../adapters/poet.gguf }\n`,
    )
    mkdirSync(path.join(dir, 'adapters'))
    await makeLoraAdapter({ base: gguf(), out: path.join(dir, 'adapters/poet.gguf') })
    await writeGguf(path.join(dir, 'adapters/gpt2.gguf'), {
      metadata: meta('gpt2'),
      tensors: pair('blk.0.attn_q.weight', 64, 64),
    })
    await writeGguf(path.join(dir, 'adapters/deep.gguf'), {
      metadata: meta('llama'),
      tensors: pair('blk.9.attn_q.weight', 64, 64),
    })

    const poet = await check('poet')
    expect(poet.map((x) => x.error)).toEqual([undefined, undefined])
    expect(only(poet, 'adapter')).toMatchObject({
      gguf: { architecture: 'llama', type: 'adapter', tensors: 40 },
      compared: expect.stringMatching(
        /architecture llama, as its base's; 40 tensors on 20 tensors of the base in layers blk\.0 to blk\.4 \(of 5\)/,
      ),
    })

    const gpt = errorOf(only(await check('gpt'), 'adapter'))
    expect(gpt.code).toBe('MODEL_INVALID')
    expect(gpt.text).toMatch(
      /manifest\.yaml:3:\d+: model "gpt": the adapter .*gpt2\.gguf does not fit its base model: it was made for "gpt2" models but the base model is "llama"/,
    )
    const deep = errorOf(only(await check('deep'), 'adapter'))
    expect(deep.text).toMatch(
      /blk\.9\.attn_q\.weight, which the base model does not have \(its layers are blk\.0 to blk\.4: llama\.block_count is 5\)/,
    )
    // an adapter given as the base
    expect(errorOf(only(await check('swapped'), 'base')).text).toMatch(/is a LoRA adapter, not a model/)
  })

  it('an entry on an already loaded base is checked too: its wrong adapter fails its stage only', async () => {
    const { engine, dir } = setUp(
      'models:\n' +
        `  plain: { runtime: llamacpp, base: "${gguf()}", threads: 1, context_size: 256, chat_wrapper: none }\n` +
        `  gpt: { runtime: llamacpp, base: "${gguf()}", lora: ../adapters/gpt2.gguf, threads: 1, context_size: 256 }\n`,
    )
    mkdirSync(path.join(dir, 'adapters'))
    const made = await makeLoraAdapter({ base: gguf(), out: path.join(dir, 'adapters/gpt2.gguf') })
    const bytes = readFileSync(made.file)
    // general.architecture "llama" → "gpt2 " (same length, so the file stays well formed)
    bytes.write('gpt2 ', bytes.indexOf('llama'), 'latin1')
    writeFileSync(made.file, bytes)
    const events: LooseEvent[] = []
    engine.hooks.event.tap('Collect', (e) => void events.push(e as LooseEvent))
    const opts = { temperature: 0, max_tokens: 4 }
    const r = await engine.run({
      chain: {
        name: 'c',
        value: {
          stages: {
            plain: { model: 'plain', prompt: 'Once upon a time', options: opts },
            // runs after plain, when the base is loaded: the manager's path for a second entry on it
            gpt: { model: 'gpt', prompt: '{{stages.plain.output}}', options: opts },
          },
        },
      },
      query: 'q',
    })
    expect(r.stages.find((s) => s.stage === 'plain')?.output).toMatch(/^, there was/)
    expect(events.filter((e) => e.type === 'model-load')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({
        stage: 'gpt',
        code: 'MODEL_INVALID',
        message: expect.stringMatching(/does not fit its base model: it was made for "gpt2 " models/),
      }),
    ])
    await engine.dispose()
  })

  it('a pinned adapter ({ file, sha256 }) is hashed; a wrong pin is refused at lora.sha256', async () => {
    const p = makeProject({})
    mkdirSync(path.join(p.dir, 'adapters'))
    const made = await makeLoraAdapter({ base: gguf(), out: path.join(p.dir, 'adapters/poet.gguf') })
    mkdirSync(path.join(p.dir, 'models'))
    writeFileSync(
      path.join(p.dir, 'models/manifest.yaml'),
      'models:\n' +
        `  good: { runtime: llamacpp, base: "${gguf()}",\n` +
        `          lora: { file: ../adapters/poet.gguf, sha256: ${sha256(made.file)} } }\n` +
        '  bad:\n' +
        '    runtime: llamacpp\n' +
        `    base: "${gguf()}"\n` +
        `    lora: { file: ../adapters/poet.gguf, sha256: ${'f'.repeat(64)} }\n`,
    )
    const { check } = plugin(p)
    const good = only(await check('good'), 'adapter')
    expect(good.error).toBeUndefined()
    expect(good.sha256).toEqual({ actual: sha256(made.file), pinned: sha256(made.file), cached: false })
    const bad = errorOf(only(await check('bad'), 'adapter'))
    expect(bad.text).toMatch(
      /manifest\.yaml:7:\d+: model "bad": the adapter .*poet\.gguf has sha256 [0-9a-f]{64}, not the f{64}/,
    )
  })

  it('a run whose model fails its checks is one MODEL_INVALID error; llama.cpp never sees the file', async () => {
    const whole = readFileSync(gguf())
    const { engine } = setUp('models:\n  cut: { runtime: llamacpp, base: cut.gguf, threads: 1 }\n', {
      'models/cut.gguf': whole.subarray(0, whole.length - 4096),
    })
    const events: LooseEvent[] = []
    engine.hooks.event.tap('Collect', (e) => void events.push(e as LooseEvent))
    const loads = llamaCppStats().modelLoads
    await engine.run({ chain: { name: 'c', value: { stages: { s: { model: 'cut', prompt: 'x' } } } }, query: 'q' })
    expect(events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({
        code: 'MODEL_INVALID',
        message: expect.stringMatching(
          /manifest\.yaml:2:\d+: model "cut": the GGUF file .*cut\.gguf cannot be used: .*truncated/,
        ),
      }),
    ])
    expect(events.some((e) => e.type === 'model-load')).toBe(false)
    expect(llamaCppStats().modelLoads).toBe(loads)
    await engine.dispose()
  })
})

describe('model files without the test model', () => {
  it('a missing adapter is MODEL_MISSING at its manifest line; Ollama entries have no base file to check', async () => {
    const { check } = setUp(
      'models:\n' +
        '  tone: { runtime: ollama, base: "llama3.2:1b", lora: ../adapters/none.gguf }\n' +
        '  plain: { runtime: ollama, base: "x:1" }\n',
    )
    const e = errorOf(only(await check('tone'), 'adapter'))
    expect(e.code).toBe('MODEL_MISSING')
    expect(e.text).toMatch(
      /manifest\.yaml:2:\d+: model "tone": the adapter .*none\.gguf does not exist\. Check its path \(lora: in the manifest\)/,
    )
    expect(await check('plain')).toEqual([])
  })

  it('hashing a large pinned file shows progress as model-pull events; a wrong pin then fails the stage', async () => {
    const p = makeProject({})
    const size = writeLargeGguf(path.join(p.dir, 'big.gguf'), 40e6)
    mkdirSync(path.join(p.dir, 'models'))
    writeFileSync(
      path.join(p.dir, 'models/manifest.yaml'),
      `models:\n  big: { runtime: llamacpp, base: ../big.gguf, sha256: ${'e'.repeat(64)} }\n`,
    )
    const { engine, models } = plugin(p)
    const events: LooseEvent[] = []
    engine.hooks.event.tap('Collect', (e) => void events.push(e as LooseEvent))
    await engine.run({ chain: { name: 'c', value: { stages: { s: { model: 'big', prompt: 'x' } } } }, query: 'q' })
    const progress = events.filter((e) => e.type === 'model-pull')
    expect(progress.length).toBe(10) // one per 4 MB read (at most one per percent)
    expect(progress.every((e) => e.model === 'big.gguf' && e.status === 'verifying sha256 of big.gguf')).toBe(true)
    expect(progress.every((e) => e.total === size)).toBe(true)
    const done = progress.map((e) => e.completed as number)
    expect(done).toEqual([...done].sort((a, b) => a - b))
    expect(done.at(-1)).toBe(size)
    expect(events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({
        code: 'MODEL_INVALID',
        message: expect.stringMatching(/big\.gguf has sha256 [0-9a-f]{64}, not the e{64}/),
      }),
    ])
    expect(models.verifier().stats).toMatchObject({ hashed: 1, bytesHashed: size })
    await engine.dispose()
  })

  it('a FIFO where the model should be is refused at once, not waited on', async () => {
    const p = makeProject({ 'models/manifest.yaml': 'models:\n  pipe: { runtime: llamacpp, base: pipe.gguf }\n' })
    execFileSync('mkfifo', [path.join(p.dir, 'models/pipe.gguf')])
    const { check } = plugin(p)
    const e = errorOf(only(await check('pipe'), 'base'))
    expect(e.code).toBe('MODEL_INVALID')
    expect(e.text).toMatch(/pipe\.gguf is a FIFO \(named pipe\), not a regular file/)
  })
})
