/** `mirador doctor`: the memory store and the tool sandbox, in text and --json; nothing left running. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { isolation } from '../../src/plugins/memory/chroma/isolation.js'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { ensureInChild, isAlive, processesMentioning } from '../support/chroma-helpers.js'
import { makeProject, runCli } from '../support/cli.js'
import { startOllamaTestServer, unusedPort, type OllamaTestServer } from '../support/ollama-server.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b" }
`

let server: OllamaTestServer
const homes: string[] = []
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  for (const h of homes) await stopChromaServer(h)
  await server.close()
})

function project(memory: 'on' | 'off' = 'off') {
  const p = makeProject({ 'models/manifest.yaml': MANIFEST })
  homes.push(p.home)
  return { ...p, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: memory } }
}

interface Report {
  ok: boolean
  memory: {
    ok: boolean
    state: string
    detail: string
    url?: string
    pid?: number
    idleTimeoutMs?: number
    embedder?: { ok: boolean; active: string; configured: string; fallback?: string; detail: string }
  }
  sandbox: { ok: boolean; state: string; detail: string; ms: number; closeMs: number; workerPid: number }
}

describe('mirador doctor: memory store and tool sandbox', () => {
  it('runs a call in a sandbox worker, reports the time, and leaves the worker stopped; memory off', async () => {
    const p = project('off')
    const r = await runCli(['doctor', '--json'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as Report
    expect(report.ok).toBe(true)
    expect(report.sandbox).toMatchObject({
      ok: true,
      state: 'ok',
      ms: expect.any(Number),
      workerPid: expect.any(Number),
    })
    expect(report.sandbox.ms).toBeGreaterThan(0)
    // the worker was doctor's child: it is gone, not orphaned
    expect(isAlive(report.sandbox.workerPid)).toBe(false)
    expect(report.memory).toMatchObject({ ok: true, state: 'off' })
    const text = await runCli(['doctor'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    expect(text.stdout).toMatch(/^memory\n {2}✓ off +memory is off/m)
    expect(text.stdout).toMatch(/^tools\n {2}✓ sandbox +isolated-vm loads in a worker process: .* in \d+ ms/m)
  })

  it('memory on and no server: says so, and starts none', async () => {
    const p = project('on')
    const r = await runCli(['doctor', '--json'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    const report = JSON.parse(r.stdout) as Report
    expect(report.memory).toMatchObject({ ok: true, state: 'stopped' })
    expect(report.memory.detail).toMatch(/none running for this MIRADOR_HOME/)
    expect(existsSync(path.join(p.home, 'memory', 'server.json'))).toBe(false)
    expect(processesMentioning(p.home)).toEqual([])
    // the embedder: the bundled sentence encoder by default
    expect(report.memory.embedder).toMatchObject({ ok: true, active: 'use-lite/512', configured: 'use-lite/512' })
    const text = await runCli(['doctor'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    expect(text.stdout).toMatch(/^ {2}✓ embedder +use-lite\/512 \(the bundled sentence encoder\)$/m)
  })

  it('a store an older Mirador made: doctor says its memories wait for memory reindex, and is still ok', async () => {
    const p = project('on')
    // a Chroma folder and no record of the embedder: the hashing embedder made it
    mkdirSync(path.join(p.home, 'memory', 'chroma'), { recursive: true })
    const r = await runCli(['doctor', '--json'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    const report = JSON.parse(r.stdout) as Report
    expect(report.memory.ok).toBe(true)
    expect(report.memory.embedder).toMatchObject({ ok: true, active: 'hashing-v1/384', configured: 'use-lite/512' })
    const text = await runCli(['doctor'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    expect(text.stdout).toMatch(/^ {2}! embedder +hashing-v1\/384: .* `mirador memory reindex` moves them$/m)
  })

  it('a $MIRADOR_HOME that other users can open: memory is not ok, and the chmod that fixes it is given', async () => {
    const p = project('on')
    chmodSync(p.home, 0o755)
    const r = await runCli(['doctor', '--json'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    expect(r.code).toBe(1)
    const report = JSON.parse(r.stdout) as Report
    expect(report.memory.ok).toBe(false)
    expect(report.memory.detail).toContain(`mode 0755): run chmod 700 '${p.home}'`)
    chmodSync(p.home, 0o700)
    const fixed = JSON.parse((await runCli(['doctor', '--json'], { cwd: p.dir, env: p.env })).stdout) as Report
    expect(fixed.memory.ok).toBe(true)
  })

  it('a running memory server: where, its pids and idle timeout; doctor leaves it as it was', async () => {
    const p = project('on')
    const handle = await ensureInChild(p.home, 0, { MIRADOR_CHROMA_IDLE_MS: '60000' })
    const r = await runCli(['doctor', '--json'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    const report = JSON.parse(r.stdout) as Report
    expect(report.memory).toMatchObject({
      ok: true,
      state: 'running',
      url: handle.url,
      pid: handle.pid,
      idleTimeoutMs: 60_000,
    })
    expect(isAlive(handle.pid!)).toBe(true)
    const text = await runCli(['doctor'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })
    expect(text.stdout).toContain(`✓ running   ${handle.url} (supervisor pid ${handle.pid}`)
    expect(text.stdout).toMatch(/stops after 1 min without use/)
    const how = await isolation(process.env)
    expect(text.stdout).toMatch(how.ok ? /Chroma in a network of its own, reached only with the token/ : /NOT isolated/)
  })

  it('CHROMA_URL that does not answer: memory fails, doctor exits 1 and says what to do', async () => {
    const p = project('on')
    const url = `http://127.0.0.1:${await unusedPort()}`
    const r = await runCli(['doctor'], { cwd: p.dir, env: { ...p.env, CHROMA_URL: url }, timeoutMs: 60_000 })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      new RegExp(`✗ external +Chroma at ${url.replace(/[.:/]/g, '\\$&')} \\(CHROMA_URL\\) does not answer`),
    )
    expect(r.stdout).toMatch(/unset CHROMA_URL/)
  })
})
