import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { chromaServerInfo, stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { startOllamaTestServer, unusedPort, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

let server: OllamaTestServer
const homes: string[] = []
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
  for (const h of homes) await stopChromaServer(h)
})

function project() {
  const p = makeProject({
    'chains/single.yaml': 'stages:\n  answer: { model: "llama3.2:1b", prompt: "{{memory}}\\n{{query}}" }\n',
  })
  homes.push(p.home)
  return { ...p, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: 'on' } }
}

const lastPrompt = () =>
  server.requests
    .filter((r) => r.path === '/api/chat' && r.body?.messages?.length)
    .at(-1)!
    .body.messages.at(-1).content as string

describe('memory through the CLI', () => {
  it('remembers, recalls with --show-memory, lists, searches, shows and forgets', async () => {
    const p = project()
    expect(
      (
        await runCli(['chain', 'run', 'single', 'My dentist is Dr Rivera on Elm Street', '--no-stream'], {
          cwd: p.dir,
          env: p.env,
        })
      ).code,
    ).toBe(0)
    const r = await runCli(['chain', 'run', 'single', 'Who is my dentist?', '--show-memory'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/\[memory\] answer: recalled (m_[a-z0-9]+) \(\d\.\d\d\)/)
    expect(r.stdout).toContain('Q: My dentist is Dr Rivera on Elm Street')
    expect(lastPrompt()).toContain('Dr Rivera')

    const ls = JSON.parse((await runCli(['memory', 'ls', '--json'], { cwd: p.dir, env: p.env })).stdout)
    expect(ls.total).toBe(2)
    const dentist = ls.memories.find((m: { text: string }) => m.text.includes('Dr Rivera'))
    const search = JSON.parse(
      (await runCli(['memory', 'search', 'dentist on Elm', '--json'], { cwd: p.dir, env: p.env })).stdout,
    )
    // the question about the dentist, remembered too, may rank first by meaning
    expect(search.slice(0, 2).map((m: { id: string }) => m.id)).toContain(dentist.id)
    const show = await runCli(['memory', 'show', dentist.id], { cwd: p.dir, env: p.env })
    expect(show.stdout).toMatch(/recalled 1 time/)

    const refused = await runCli(['memory', 'forget', dentist.id], { cwd: p.dir, env: p.env })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/--yes/)
    const forgot = await runCli(['memory', 'forget', dentist.id, '--yes'], { cwd: p.dir, env: p.env })
    expect(forgot.stdout).toMatch(/✓ forgot 1 memory\b/)
    expect(JSON.parse((await runCli(['memory', 'ls', '--json'], { cwd: p.dir, env: p.env })).stdout).total).toBe(1)
  })

  it('sessions: --session continues a conversation; session ls, show and rm', async () => {
    const p = project()
    await runCli(['chain', 'run', 'single', 'Let us plan the garden', '--session', 'garden', '--no-stream'], {
      cwd: p.dir,
      env: p.env,
    })
    await runCli(['chain', 'run', 'single', 'Tomatoes or peppers?', '--session', 'garden', '--no-stream'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(lastPrompt()).toContain('Let us plan the garden')
    const ls = JSON.parse((await runCli(['session', 'ls', '--json'], { cwd: p.dir, env: p.env })).stdout)
    expect(ls).toEqual([expect.objectContaining({ name: 'garden', turns: 2 })])
    const show = await runCli(['session', 'show', 'garden'], { cwd: p.dir, env: p.env })
    expect(show.stdout).toContain('Q: Tomatoes or peppers?')
    const rm = await runCli(['session', 'rm', 'garden', '--yes'], { cwd: p.dir, env: p.env })
    expect(rm.stdout).toMatch(/removed .*2 memories.*1 session\b/)
    expect(JSON.parse((await runCli(['session', 'ls', '--json'], { cwd: p.dir, env: p.env })).stdout)).toEqual([])
  })

  it('--no-memory reads and writes nothing, not even the session file', async () => {
    const p = project()
    await runCli(['chain', 'run', 'single', 'remember this one', '--no-stream'], { cwd: p.dir, env: p.env })
    const snapshot = () =>
      readdirSync(p.home, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile() && !/chroma|last-used|server\.json|\.log$/.test(path.join(d.parentPath, d.name)))
        .map((d) => [path.join(d.parentPath, d.name), readFileSync(path.join(d.parentPath, d.name))])
    const before = snapshot()
    const r = await runCli(
      ['chain', 'run', 'single', 'secret question', '--no-memory', '--session', 'hidden', '--no-stream'],
      { cwd: p.dir, env: p.env },
    )
    expect(r.code).toBe(0)
    expect(lastPrompt()).toBe('\nsecret question')
    expect(snapshot()).toEqual(before)
  })

  it('memory stop stops the server Mirador started', async () => {
    const p = project()
    await runCli(['chain', 'run', 'single', 'hello', '--no-stream'], { cwd: p.dir, env: p.env })
    // the memory service lives in the same process, and goes with it
    const socket = path.join(p.home, 'memory', 'service.sock')
    expect(existsSync(socket)).toBe(true)
    const stop = await runCli(['memory', 'stop'], { cwd: p.dir, env: p.env })
    expect(stop.stdout).toMatch(/✓ the memory server stopped/)
    expect(existsSync(socket)).toBe(false)
    expect((await runCli(['memory', 'stop'], { cwd: p.dir, env: p.env })).stdout).toMatch(
      /No memory server was running/,
    )
  })

  it('a run that fails before any model answers: its error once, no memory server left that it started', async () => {
    const p = project()
    const env = { ...p.env, OLLAMA_HOST: `http://127.0.0.1:${await unusedPort()}` }
    // the shipped quick-deep: two stages, both on the closed port
    const r = await runCli(['chain', 'run', 'quick-deep', 'hello'], { cwd: p.dir, env })
    expect(r.code).toBe(1)
    expect(r.stderr.match(/RUNTIME_UNREACHABLE/g)).toHaveLength(1)
    // the shipped quick and deep fall back to the embedded model, which is not downloaded here
    expect(r.stderr).toMatch(/is not answering at .*the embedded model "default" .*`mirador models pull default`/)
    // the recall did start it (its log is there), and the failed run stopped it
    expect(existsSync(path.join(p.home, 'memory', 'chroma.log'))).toBe(true)
    expect((await chromaServerInfo(p.home)).running).toBe(false)

    // a server the run found running is not its to stop
    expect((await runCli(['memory', 'ls'], { cwd: p.dir, env: p.env })).code).toBe(0)
    const pid = (await chromaServerInfo(p.home)).record?.pid
    expect((await runCli(['chain', 'run', 'quick-deep', 'hello'], { cwd: p.dir, env })).code).toBe(1)
    expect(await chromaServerInfo(p.home)).toMatchObject({ running: true, record: { pid } })
  })

  it('memory reindex: to the embedder config names, then nothing to do', async () => {
    const p = project()
    writeFileSync(path.join(p.dir, 'mirador.config.yaml'), 'builtins:\n  memory: { embed: { runtime: hashing } }\n')
    await runCli(['chain', 'run', 'single', 'My sister Ana was born on March 3rd', '--no-stream'], {
      cwd: p.dir,
      env: p.env,
    })
    writeFileSync(path.join(p.dir, 'mirador.config.yaml'), 'builtins:\n  memory: { embed: { runtime: use } }\n')
    const r = await runCli(['memory', 'reindex', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ from: 'hashing-v1/384', to: 'use-lite/512', moved: 1, total: 1 })
    const again = await runCli(['memory', 'reindex'], { cwd: p.dir, env: p.env })
    expect(again.stdout).toMatch(/already embedded with use-lite\/512/)
    // the sentence encoder finds it by meaning now
    const run = await runCli(['chain', 'run', 'single', "When is my sibling's birthday?", '--json'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(run.events.find((e) => e.type === 'memory')!.ids).toHaveLength(1)
  })

  it('size limits: a 10 MB query is cut (the run says so); ls and search --json work on a huge memory', async () => {
    const p = project()
    // the store below is filled with the hashing embedder's vectors
    writeFileSync(path.join(p.dir, 'mirador.config.yaml'), 'builtins:\n  memory: { embed: { runtime: hashing } }\n')
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo']
    const huge = Array.from({ length: 850_000 }, (_, i) => `${words[i % 5]}${i}`).join(' ')
    expect(huge.length).toBeGreaterThan(10_000_000)
    const r = await runCli(['chain', 'run', 'single', '-', '--json'], {
      cwd: p.dir,
      env: p.env,
      input: huge,
      timeoutMs: 60_000,
    })
    expect(r.code).toBe(0)
    const said = r.events.find((e) => e.type === 'memory' && e.clipped)
    expect(said?.message).toBe(
      'this query is ' +
        huge.length.toLocaleString('en-US') +
        ' characters: ' +
        'memory keeps, and recalls with, only its first 8,000',
    )
    process.stderr.write(`memory: a run with a ${(huge.length / 1e6).toFixed(1)} MB query took ${r.ms.toFixed(0)} ms\n`)
    const ls = JSON.parse((await runCli(['memory', 'ls', '--json'], { cwd: p.dir, env: p.env })).stdout)
    expect(ls.total).toBe(1)
    expect(ls.memories[0].text.length).toBeLessThan(10_000)
    expect(ls.memories[0].text).toContain(`more characters not kept]`)

    // a store that already holds a memory of megabytes (made before the limit, or from outside)
    const { loadCipher } = await import('../../src/lib/crypto.js')
    const { createHashingEmbedder } = await import('../../src/lib/embedder.js')
    const { collectionFor } = await import('../../src/plugins/memory/open-store.js')
    const { createChromaStore } = await import('../../src/plugins/memory/chroma/store.js')
    const { ensureChromaServer } = await import('../../src/plugins/memory/chroma/server.js')
    const embedder = createHashingEmbedder()
    const server = await ensureChromaServer({ home: p.home, env: {} })
    const store = await createChromaStore({
      url: server.url,
      token: server.token!,
      collection: collectionFor(embedder.id),
      cipher: await loadCipher({ home: p.home, env: {} }),
    })
    const text = `Q: ${huge.slice(0, 5_000_000)}\nA: noted`
    const [embedding] = await embedder.embed([text.slice(0, 8000)])
    const meta = { chain: 'single', runId: 'r_old', createdAt: Date.now(), kind: 'turn' as const, recalls: 0 }
    await store.add([{ id: 'm_huge', text, embedding: embedding!, meta }])
    const ls2 = await runCli(['memory', 'ls', '--json'], { cwd: p.dir, env: p.env })
    expect(ls2.code).toBe(0)
    const listed = JSON.parse(ls2.stdout)
    expect(listed.total).toBe(2)
    expect(listed.memories.find((m: { id: string }) => m.id === 'm_huge').text).toHaveLength(text.length)
    const search = await runCli(['memory', 'search', 'alpha0 bravo1', '--json'], { cwd: p.dir, env: p.env })
    expect(search.code).toBe(0)
    expect(JSON.parse(search.stdout).map((m: { id: string }) => m.id)).toContain('m_huge')
    expect((await runCli(['memory', 'ls'], { cwd: p.dir, env: p.env })).stdout).toMatch(/^m_huge .*…$/m)
  }, 120_000)

  it('every memory and session command has help with examples', async () => {
    const p = project()
    for (const cmd of [
      ['memory', 'ls'],
      ['memory', 'search'],
      ['memory', 'show'],
      ['memory', 'forget'],
      ['memory', 'import'],
      ['memory', 'reindex'],
      ['memory', 'stop'],
      ['session', 'ls'],
      ['session', 'show'],
      ['session', 'rm'],
    ]) {
      expect((await runCli([...cmd, '--help'], { cwd: p.dir, env: p.env })).stdout).toMatch(/EXAMPLES/)
    }
  })
})
