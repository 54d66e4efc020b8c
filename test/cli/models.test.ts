import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'
import { writeLargeGguf } from '../support/gguf.js'
import { makeLoraAdapter } from '../support/make-lora.js'
import { TEST_GGUF, gguf, itGguf } from '../support/test-gguf.js'

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer({
    models: [
      { name: 'llama3.2:1b', size: 1_300_000_000 },
      { name: 'qwen2.5:7b', size: 4_700_000_000 },
      { name: 'phi3:mini', present: false },
    ],
  })
})
afterAll(async () => {
  await server.close()
})

async function project(manifest: string) {
  const p = makeProject({ 'models/manifest.yaml': manifest })
  mkdirSync(path.join(p.dir, 'adapters'))
  return {
    ...p,
    env: {
      MIRADOR_HOME: p.home,
      OLLAMA_HOST: server.url,
      MIRADOR_FREE_MEMORY_GB: '16',
      ...(TEST_GGUF ? { MIRADOR_TEST_GGUF: TEST_GGUF } : {}),
    },
  }
}

/** Ollama entries only: what runs without the GGUF test model */
const OLLAMA_MANIFEST = `budget: { memory_gb: 8, max_loaded: 2 }
models:
  quick: { runtime: ollama, base: "llama3.2:1b", priority: 1 }
  deep: { runtime: ollama, base: "qwen2.5:7b" }
  mini: { runtime: ollama, base: "phi3:mini" }
`
const MANIFEST = `${OLLAMA_MANIFEST}  story: { runtime: llamacpp, base: "\${MIRADOR_TEST_GGUF}" }
  poet: { runtime: llamacpp, base: "\${MIRADOR_TEST_GGUF}", lora: ../adapters/poet.gguf }
  coder: { runtime: llamacpp, base: "\${MIRADOR_TEST_GGUF}", lora: ../adapters/coder.gguf, lora_scale: 0.5 }
`

describe('mirador models', () => {
  itGguf('ls lists entries with presence, load state, sizes, adapters and the budget', async () => {
    const p = await project(MANIFEST)
    await makeLoraAdapter({ base: gguf(), out: path.join(p.dir, 'adapters/poet.gguf') })
    const r = await runCli(['models', 'ls', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.budget).toEqual({ memoryGb: 8, maxLoaded: 2, source: 'manifest' })
    const by = Object.fromEntries(out.models.map((m: { name: string }) => [m.name, m]))
    expect(by.quick).toMatchObject({
      runtime: 'ollama',
      present: true,
      loaded: false,
      baseBytes: 1_300_000_000,
      priority: 1,
    })
    expect(by.mini).toMatchObject({ present: false, detail: expect.stringContaining('ollama pull phi3:mini') })
    expect(by.poet).toMatchObject({
      runtime: 'llamacpp',
      present: true,
      adapters: [expect.objectContaining({ file: path.join(p.dir, 'adapters/poet.gguf'), scale: 1 })],
    })
    expect(by.coder).toMatchObject({ present: false, detail: expect.stringContaining('adapter not found') })
    const text = await runCli(['models', 'ls'], { cwd: p.dir, env: p.env })
    expect(text.stdout).toMatch(/budget {4}8 GB \(manifest\), at most 2 models loaded/)
    expect(text.stdout).toMatch(/✗ mini/)
  })

  it('load pulls and preloads; ls then shows it loaded; unload frees it', async () => {
    const p = await project(OLLAMA_MANIFEST)
    const load = await runCli(['models', 'load', 'mini', '--json'], { cwd: p.dir, env: p.env })
    expect(load.code).toBe(0)
    expect(JSON.parse(load.stdout)).toMatchObject({
      model: 'mini',
      runtime: 'ollama',
      as: 'phi3:mini',
      loaded: true,
      evicted: [],
    })
    expect(server.present()).toContain('phi3:mini')
    const ls = JSON.parse((await runCli(['models', 'ls', '--json'], { cwd: p.dir, env: p.env })).stdout)
    expect(ls.models.find((m: { name: string }) => m.name === 'mini')).toMatchObject({ present: true, loaded: true })
    const again = JSON.parse((await runCli(['models', 'load', 'mini', '--json'], { cwd: p.dir, env: p.env })).stdout)
    expect(again.loaded).toBe(false) // already there: nothing to do
    const unload = await runCli(['models', 'unload', 'mini'], { cwd: p.dir, env: p.env })
    expect(unload.stdout).toMatch(/✓ unloaded phi3:mini/)
    expect(server.loaded().map((m) => m.name)).not.toContain('phi3:mini')
  })

  it('load evicts within the budget (max_loaded 2), across processes', async () => {
    const p = await project(OLLAMA_MANIFEST)
    for (const m of ['quick', 'deep'])
      expect((await runCli(['models', 'load', m], { cwd: p.dir, env: p.env })).code).toBe(0)
    const third = await runCli(['models', 'load', 'mini', '--json'], { cwd: p.dir, env: p.env })
    expect(JSON.parse(third.stdout).evicted).toHaveLength(1)
    expect(server.loaded()).toHaveLength(2)
    await runCli(['models', 'unload', 'mini'], { cwd: p.dir, env: p.env })
  })

  itGguf('du counts each base once, lists adapters and shows the saving', async () => {
    // a server of its own, so that what other tests pulled does not count
    const own = await startOllamaTestServer({
      models: [
        { name: 'llama3.2:1b', size: 1_300_000_000 },
        { name: 'qwen2.5:7b', size: 4_700_000_000 },
        { name: 'phi3:mini', present: false },
      ],
    })
    try {
      await checkDu(own)
    } finally {
      await own.close()
    }
  })
  async function checkDu(own: OllamaTestServer) {
    const p = await project(MANIFEST)
    p.env.OLLAMA_HOST = own.url
    const poet = await makeLoraAdapter({ base: gguf(), out: path.join(p.dir, 'adapters/poet.gguf') })
    const coder = await makeLoraAdapter({ base: gguf(), out: path.join(p.dir, 'adapters/coder.gguf'), seed: 2 })
    const r = await runCli(['models', 'du', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    const du = JSON.parse(r.stdout)
    const { statSync } = await import('node:fs')
    const baseBytes = statSync(gguf()).size
    const story = du.bases.find((b: { runtime: string }) => b.runtime === 'llamacpp')
    expect(story).toEqual({
      base: path.basename(gguf()),
      runtime: 'llamacpp',
      bytes: baseBytes,
      entries: ['story', 'poet', 'coder'],
    })
    expect(du.adapters.map((a: { entry: string; bytes: number }) => [a.entry, a.bytes])).toEqual([
      ['poet', poet.bytes],
      ['coder', coder.bytes],
    ])
    const ollamaBases = 1_300_000_000 + 4_700_000_000 // phi3:mini is not pulled and has no size
    expect(du.actualBytes).toBe(ollamaBases + baseBytes + poet.bytes + coder.bytes)
    expect(du.fullCopiesBytes).toBe(ollamaBases + 3 * baseBytes)
    expect(du.savedBytes).toBe(2 * baseBytes - poet.bytes - coder.bytes)
    const text = await runCli(['models', 'du'], { cwd: p.dir, env: p.env })
    expect(text.stdout).toMatch(/used by story, poet, coder/)
  }

  it('manifest errors name file:line:column: unknown runtime, adapter outside the project, negative size', async () => {
    const p = await project('models:\n  a: { runtime: vllm, base: x }\n')
    const bad = [
      [
        'models:\n  a: { runtime: vllm, base: x }\n',
        /manifest\.yaml:2:17: CONFIG_INVALID: models\.a\.runtime: must be one of "ollama", "llamacpp"/,
      ],
      [
        'models:\n  a:\n    runtime: ollama\n    base: x\n    lora: ../../../../etc/passwd\n',
        /manifest\.yaml:5:11: CONFIG_INVALID: models\.a\.lora: the adapter \/etc\/passwd is outside the project and \$MIRADOR_HOME/,
      ],
      [
        'models:\n  a: { runtime: ollama, base: x, size_gb: -2 }\n',
        /manifest\.yaml:2:43: CONFIG_INVALID: models\.a\.size_gb: must be >= 0/,
      ],
    ] as const
    for (const [text, message] of bad) {
      writeFileSync(path.join(p.dir, 'models/manifest.yaml'), text)
      const r = await runCli(['chain', 'validate', 'models/manifest.yaml'], { cwd: p.dir, env: p.env })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(message)
    }
  })

  it('builtins.models options are honoured: another manifest, relative to the project', async () => {
    const p = await project(OLLAMA_MANIFEST)
    mkdirSync(path.join(p.dir, 'other'))
    writeFileSync(
      path.join(p.dir, 'other/manifest.yaml'),
      'models:\n  special: { runtime: ollama, base: "qwen2.5:7b" }\n',
    )
    writeFileSync(path.join(p.dir, 'mirador.config.yaml'), 'builtins:\n  models: { manifest: other/manifest.yaml }\n')
    const ls = await runCli(['models', 'ls', '--json'], { cwd: p.dir, env: p.env })
    expect(ls.code).toBe(0)
    expect(JSON.parse(ls.stdout).models.map((m: { name: string }) => m.name)).toEqual(['special'])
  })

  itGguf('verify checks GGUF files and pins, caches hashes across runs, and fails on a damaged file', async () => {
    const whole = readFileSync(gguf())
    const sha = createHash('sha256').update(whole).digest('hex')
    const p = await project(
      `${OLLAMA_MANIFEST}  story: { runtime: llamacpp, base: "\${MIRADOR_TEST_GGUF}", sha256: ${sha} }\n` +
        '  poet: { runtime: llamacpp, base: "${MIRADOR_TEST_GGUF}", lora: ../adapters/poet.gguf }\n' +
        '  cut: { runtime: llamacpp, base: ../cut.gguf }\n',
    )
    writeFileSync(path.join(p.dir, 'cut.gguf'), whole.subarray(0, 600_000))
    await makeLoraAdapter({ base: gguf(), out: path.join(p.dir, 'adapters/poet.gguf') })

    const first = await runCli(['models', 'verify', '--json'], { cwd: p.dir, env: p.env })
    expect(first.code).toBe(1)
    const out = JSON.parse(first.stdout)
    const by = Object.fromEntries(out.entries.map((e: { name: string }) => [e.name, e]))
    expect(out.ok).toBe(false)
    expect(by.quick).toEqual({ name: 'quick', runtime: 'ollama', ok: true, files: [] })
    expect(by.story.files).toEqual([
      expect.objectContaining({ role: 'base', sha256: { actual: sha, pinned: sha, cached: false } }),
    ])
    expect(by.poet.files[1]).toMatchObject({ role: 'adapter', gguf: { type: 'adapter', architecture: 'llama' } })
    expect(by.cut).toMatchObject({ ok: false, files: [{ error: { code: 'MODEL_INVALID' } }] })
    expect(by.cut.files[0].error.location).toMatchObject({ line: 8 })

    // a second process takes the pinned hash from $MIRADOR_HOME's cache
    const second = await runCli(['models', 'verify', 'story', '--json'], { cwd: p.dir, env: p.env })
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout).entries[0].files[0].sha256).toEqual({ actual: sha, pinned: sha, cached: true })

    const text = await runCli(['models', 'verify'], { cwd: p.dir, env: p.env })
    expect(text.code).toBe(1)
    expect(text.stdout).toMatch(/✓ story +base +stories260K\.gguf .* sha256 pinned, matches, from the cache/)
    expect(text.stdout).toMatch(/compared with the base: general\.architecture llama, as its base's/)
    expect(text.stdout).toMatch(
      /✗ MODEL_INVALID: .*manifest\.yaml:8:\d+: model "cut": the GGUF file .*cut\.gguf cannot be used: .*truncated/,
    )
    expect(text.stdout).toMatch(/6 entries checked: 1 failed\./)

    // loading the damaged one: refused before llama.cpp sees it, one line, no stack trace
    const load = await runCli(['models', 'load', 'cut'], { cwd: p.dir, env: p.env })
    expect(load.code).toBe(1)
    expect(load.stderr).toMatch(
      /^✗ MODEL_INVALID: .*manifest\.yaml:8:\d+: model "cut": .*truncated.*Download it again/m,
    )
    expect(load.stderr).not.toMatch(/\n\s+at /)
  })

  it('hashing a large pinned file draws progress: models verify as a bar, models load as the run does', async () => {
    const p = await project(
      'models:\n  big: { runtime: llamacpp, base: ../big.gguf, sha256: ' + 'e'.repeat(64) + ' }\n',
    )
    writeLargeGguf(path.join(p.dir, 'big.gguf'), 40e6)
    // the first hashing: a load, drawn as a run draws a download
    const load = await runCli(['models', 'load', 'big'], { cwd: p.dir, env: p.env })
    expect(load.code).toBe(1)
    expect(load.stderr).toMatch(/^big\.gguf: verifying sha256 of big\.gguf \[#+\.*\] \d+% of 40\.0 MB$/m)
    expect(load.stderr).toMatch(/^✗ MODEL_INVALID: .*not the e{64} pinned in the manifest/m)
    // the hash is cached now: --rehash hashes again, with a bar on stderr
    const verify = await runCli(['models', 'verify', '--rehash'], { cwd: p.dir, env: p.env })
    expect(verify.code).toBe(1)
    expect(verify.stderr).toMatch(/^sha256 big\.gguf \[#+\] 100% \(40\/40 MB\)$/m)
    expect(verify.stdout).toMatch(/✗ MODEL_INVALID: .*manifest\.yaml:2:\d+: model "big": .*big\.gguf has sha256 /)
    // --json: the findings only, no bar
    const json = await runCli(['models', 'verify', '--json'], { cwd: p.dir, env: p.env })
    expect(json.stderr).toBe('')
    expect(JSON.parse(json.stdout).entries[0].files[0].sha256).toMatchObject({ cached: true, pinned: 'e'.repeat(64) })
  })

  it('every models command has help with examples', async () => {
    const p = await project(OLLAMA_MANIFEST)
    for (const cmd of ['ls', 'load', 'unload', 'du', 'verify']) {
      const r = await runCli(['models', cmd, '--help'], { cwd: p.dir, env: p.env })
      expect(r.stdout).toMatch(/EXAMPLES/)
    }
  })
})
