/**
 * No Ollama answering (a closed port as OLLAMA_HOST): stages whose model has `fallback: default` run
 * on the embedded model, pulled from the hub double, streaming real llama.cpp tokens, with the
 * notice said once; not pulled and no terminal, a clear error naming `mirador models pull default`;
 * and `mirador doctor` saying which path chains will take.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { copyFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { makeProject, runCli } from '../support/cli.js'
import { startOllamaTestServer, unusedPort, type OllamaTestServer } from '../support/ollama-server.js'
import { describeGguf, gguf } from '../support/test-gguf.js'
import { FILE, hfServer, manifest } from '../support/hf-default.js'

const CHAIN = `stages:
  quick:
    model: quick
    prompt: "{{query}}"
    options: { temperature: 0, max_tokens: 12 }
  deep:
    model: deep
    prompt: "{{query}}"
    options: { temperature: 0, max_tokens: 8 }
`

interface Serving {
  ok: boolean
  path: string
  detail: string
  fallback?: { name: string; file: string; present: boolean }
}

describeGguf('no Ollama: the embedded default stands in', () => {
  let closed: string
  let ollama: OllamaTestServer
  beforeAll(async () => {
    closed = `http://127.0.0.1:${await unusedPort()}`
    ollama = await startOllamaTestServer()
  })
  afterAll(async () => {
    await ollama.close()
  })
  const project = () => {
    const p = makeProject({ 'models/manifest.yaml': manifest(), 'chains/two.yaml': CHAIN })
    return { ...p, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: closed } }
  }
  const place = (home: string) => {
    mkdirSync(path.join(home, 'models'), { recursive: true })
    copyFileSync(gguf(), path.join(home, 'models', FILE))
  }

  it('a chain runs on the pulled default, streaming real tokens, and says so once', async () => {
    const p = project()
    const hub = await hfServer()
    try {
      const pulled = await runCli(['models', 'pull'], { cwd: p.dir, env: { ...p.env, MIRADOR_HF_ENDPOINT: hub.url } })
      expect(pulled.code).toBe(0)
    } finally {
      await hub.close()
    }
    const r = await runCli(['chain', 'run', 'two', 'Once upon a time', '--json'], {
      cwd: p.dir,
      env: p.env,
      timeoutMs: 60_000,
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const notices = r.events.filter((e) => e.type === 'model-fallback')
    expect(notices).toHaveLength(1)
    expect(notices[0]).toMatchObject({
      model: expect.stringMatching(/^(quick|deep)$/),
      fallback: 'default',
      host: closed,
    })
    expect(notices[0]!.message).toBe(
      `Ollama is not answering at ${closed} (connection refused); ` +
        `using the embedded model "default" (${FILE}) instead of ${String(notices[0]!.model)}.`,
    )
    const tokens = (s: string) => r.events.filter((e) => e.type === 'token' && e.stage === s)
    expect(tokens('quick')).toHaveLength(12)
    expect(tokens('deep')).toHaveLength(8)
    const text = tokens('quick')
      .map((e) => e.text)
      .join('')
    expect(text.length).toBeGreaterThan(10)
    for (const e of r.events.filter((e) => e.type === 'stage-end'))
      expect(e).toMatchObject({ model: FILE, confidenceSource: 'logprobs' })
    expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true, models: [FILE] })

    // drawn as one line in text output
    const plain = await runCli(['chain', 'run', 'two', 'Once upon a time'], {
      cwd: p.dir,
      env: p.env,
      timeoutMs: 60_000,
    })
    expect(plain.code).toBe(0)
    expect(plain.stdout.match(/is not answering/g)).toHaveLength(1)
    expect(plain.stdout).toMatch(/^\[model\] Ollama is not answering at .* instead of (quick|deep)\.$/m)
  })

  it('Ollama answering: no fallback, no notice', async () => {
    const p = project()
    place(p.home)
    const r = await runCli(['chain', 'run', 'two', 'hi', '--json'], {
      cwd: p.dir,
      env: { ...p.env, OLLAMA_HOST: ollama.url },
    })
    expect(r.code).toBe(0)
    expect(r.events.filter((e) => e.type === 'model-fallback')).toEqual([])
    expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true })
    expect((r.events.at(-1)!.models as string[]).sort()).toEqual(['llama3.2:1b', 'qwen2.5:7b'])
  })

  it('not pulled and no terminal: one clear error naming `mirador models pull default`, nothing asked', async () => {
    const p = project()
    const json = await runCli(['chain', 'run', 'two', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(json.code).toBe(1)
    const errors = json.events.filter((e) => e.type === 'error')
    expect(errors.map((e) => e.stage).sort()).toEqual(['deep', 'quick'])
    for (const e of errors) {
      expect(e.code).toBe('RUNTIME_UNREACHABLE')
      expect(e.message).toBe(
        `Ollama is not answering at ${closed} (connection refused), and the embedded model "default" that ` +
          'stands in for it is not downloaded. Download it (1.2 MB) with `mirador models pull default`, ' +
          'or start Ollama (`ollama serve`).',
      )
    }
    const text = await runCli(['chain', 'run', 'two', 'hi'], { cwd: p.dir, env: p.env, input: '' })
    expect(text.code).toBe(1)
    expect(text.stderr.match(/mirador models pull default/g)).toHaveLength(1)
    expect(text.stderr).not.toMatch(/\[y\/N\]/)
  })

  it('doctor says which path chains take: neither, the embedded model, Ollama', async () => {
    const p = project()
    const doctor = async (env: NodeJS.ProcessEnv) => {
      const r = await runCli(['doctor', '--json'], { cwd: p.dir, env, timeoutMs: 60_000 })
      return { code: r.code, report: JSON.parse(r.stdout) as { ok: boolean; serving: Serving } }
    }
    const none = await doctor(p.env)
    expect(none.code).toBe(1)
    expect(none.report.serving).toMatchObject({
      ok: false,
      path: 'none',
      fallback: { name: 'default', present: false, file: path.join(p.home, 'models', FILE) },
    })
    expect(none.report.serving.detail).toBe(
      `neither: Ollama is not answering at ${closed}, and the embedded model "default" is not downloaded: ` +
        'run `mirador models pull default`, or start Ollama',
    )
    const text = await runCli(['doctor'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    expect(text.stdout).toMatch(/^serving\n {2}✗ none +neither: Ollama is not answering/m)
    expect(text.stdout).toMatch(
      /^ {2}- default +llamacpp .* not downloaded yet: `mirador models pull default` \(1\.2 MB\)$/m,
    )

    place(p.home)
    const embedded = await doctor(p.env)
    expect(embedded.report.serving).toMatchObject({ ok: true, path: 'embedded' })
    expect(embedded.report.serving.detail).toBe(
      `Ollama is not answering at ${closed}: quick, deep run on the embedded model "default" at ` +
        path.join(p.home, 'models', FILE),
    )
    // a working set-up while Ollama is away
    expect(embedded.report.ok).toBe(true)
    expect(embedded.code).toBe(0)

    const up = await doctor({ ...p.env, OLLAMA_HOST: ollama.url })
    expect(up.report.serving).toMatchObject({ ok: true, path: 'ollama' })
    expect(up.report.serving.detail).toBe(
      `Ollama at ${ollama.url} answers: chains run on it ` +
        '(the embedded model "default" is downloaded, for when it does not)',
    )
  })
})

describe('fallback: in the manifest', () => {
  it('a fallback naming no entry is a config error with its position', async () => {
    const p = makeProject({
      'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b", fallback: nothing }\n',
    })
    const r = await runCli(['chain', 'validate', 'models/manifest.yaml'], { cwd: p.dir, env: { MIRADOR_HOME: p.home } })
    expect(r.code).toBe(1)
    expect(r.stdout + r.stderr).toMatch(
      /manifest\.yaml:2:\d+: CONFIG_INVALID: models\.quick\.fallback: "nothing" names no entry of this manifest\. Name another entry/,
    )
  })
})
