/**
 * The tool sandbox with well-behaved tools and a misbehaving pool: results, capabilities, limits,
 * determinism, concurrency, dead and killed workers, malformed workers, close(), laziness, a process
 * that never calls close(), the worker's own hardening (permission model, empty environment), and
 * the compiled dist/ build. The escape suite is sandbox-escape.test.ts.
 */
import { afterAll, describe, expect, jest, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  createSandboxPool,
  type Capabilities,
  type SandboxCall,
  type SandboxPoolHandle,
} from '../../src/plugins/tools/sandbox/index.js'
import { workerExecArgv } from '../../src/plugins/tools/sandbox/pool.js'

jest.setTimeout(30_000)

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const LIMITS = { timeoutMs: 2000, memoryMb: 32, maxOutputBytes: 64 * 1024 }
const pools: SandboxPoolHandle[] = []
const seenPids = new Set<number>()

function newPool(options: Parameters<typeof createSandboxPool>[0] = {}): SandboxPoolHandle {
  const p = createSandboxPool(options)
  pools.push(p)
  return p
}

function call(source: string, args: unknown = {}, extra: Partial<SandboxCall> = {}): SandboxCall {
  return { source, filename: '/home/someone/project/tools/t.mjs', args, limits: LIMITS, capabilities: [], ...extra }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (cond()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return cond()
}

afterAll(async () => {
  for (const p of pools) await p.close()
  for (const p of pools) expect(p.pids()).toEqual([])
  for (const pid of seenPids) expect(await waitFor(() => !alive(pid))).toBe(true)
})

describe('tools', () => {
  const pool = newPool()

  test('no worker starts before the first call', () => {
    expect(newPool().pids()).toEqual([])
    expect(pool.pids()).toEqual([])
  })

  test('a sync tool', async () => {
    const r = await pool.run(
      call('export default function ({ a, b }) { return { sum: a + b, words: ["x", "y"] } }', { a: 2, b: 3 }),
    )
    expect(r).toEqual({ ok: true, value: { sum: 5, words: ['x', 'y'] }, ms: expect.any(Number) })
    expect(pool.pids()).toHaveLength(1)
    for (const pid of pool.pids()) seenPids.add(pid)
  })

  test('an async tool', async () => {
    const r = await pool.run(
      call('export default async (args) => { const v = await Promise.resolve(args.n); return [v, await null] }', {
        n: 7,
      }),
    )
    expect(r).toMatchObject({ ok: true, value: [7, null] })
  })

  test('undefined becomes null; other values keep their JSON meaning', async () => {
    expect(await pool.run(call('export default () => {}'))).toMatchObject({ ok: true, value: null })
    expect(
      await pool.run(call('export default () => ({ a: undefined, b: [undefined], c: NaN, d: new Date(0) })')),
    ).toMatchObject({
      ok: true,
      value: { b: [null], c: null, d: '1970-01-01T00:00:00.000Z' },
    })
  })

  test('errors are short messages without a host stack or path', async () => {
    const r = await pool.run(
      call('export default () => { const e = new RangeError("out of range"); e.stack = "at /etc/passwd"; throw e }'),
    )
    expect(r).toMatchObject({ ok: false, code: 'TOOL_FAILED', error: 'RangeError: out of range' })
    const syntax = await pool.run(call('export default (('))
    expect(syntax).toMatchObject({ ok: false, code: 'TOOL_FAILED' })
    expect((syntax as { error: string }).error).toMatch(/^SyntaxError: .*t\.mjs/)
    expect((syntax as { error: string }).error).not.toContain('/home/someone')
  })

  test('a capability (a memory.search stand-in): JSON in, JSON out', async () => {
    const seen: unknown[] = []
    const host: Capabilities = {
      'memory.search': async (args) => {
        seen.push(args)
        return { hits: [{ id: 'm1', text: `about ${(args as { query: string }).query}`, score: 0.75 }] }
      },
    }
    const source = `export default async function ({ query }, host) {
      const { hits } = await host.call('memory.search', { query, k: 3 })
      return { granted: host.capabilities, best: hits[0].text, isArray: Array.isArray(hits) }
    }`
    const r = await pool.run(call(source, { query: 'cats' }, { capabilities: ['memory.search'] }), host)
    expect(r).toMatchObject({ ok: true, value: { granted: ['memory.search'], best: 'about cats', isArray: true } })
    expect(seen).toEqual([{ query: 'cats', k: 3 }])
  })

  test('capability answers and failures reach the tool as its own values and errors', async () => {
    const host: Capabilities = {
      nothing: async () => undefined,
      bigint: async () => 1n,
      huge: async () => 'x'.repeat(5 * 1024 * 1024),
      throws: async () => {
        throw new Error('the store is down\n    at secret (/host/path.js:1:1)')
      },
    }
    const source = `export default async function (_a, host) {
      const out = {}
      for (const name of ['nothing', 'bigint', 'huge', 'throws', 'absent']) {
        try {
          out[name] = { ok: await host.call(name, {}) }
        } catch (e) {
          out[name] = { error: e.message, own: e instanceof Error }
        }
      }
      return out
    }`
    const r = await pool.run(
      call(source, {}, { capabilities: ['nothing', 'bigint', 'huge', 'throws', 'absent'] }),
      host,
    )
    expect(r.ok).toBe(true)
    const v = (r as { value: Record<string, { ok?: unknown; error?: string; own?: boolean }> }).value
    expect(v.nothing).toEqual({ ok: null })
    expect(v.bigint?.error).toMatch(/^bigint: /)
    expect(v.huge?.error).toMatch(/larger than/)
    expect(v.throws).toEqual({ error: 'throws: the store is down at secret (/host/path.js:1:1)', own: true })
    expect(v.absent?.error).toMatch(/not granted/)
  })

  test('a capability in `host` but not granted for the call is refused, and not called', async () => {
    let called = false
    const host: Capabilities = {
      'memory.search': async () => {
        called = true
        return []
      },
    }
    const r = await pool.run(call('export default (_a, host) => host.call("memory.search", {})'), host)
    expect(r).toMatchObject({ ok: false, code: 'TOOL_FAILED', error: expect.stringContaining('not granted') })
    expect(called).toBe(false)
  })

  test('deterministic: the shipped calculate tool gives the same answer every time', async () => {
    const source = readFileSync(path.join(ROOT, 'tools/calculate.mjs'), 'utf8')
    const results = []
    for (let i = 0; i < 5; i++)
      results.push(
        await pool.run(call(source, { expression: '2^10 + sqrt(16) * (3 - 1)' }, { filename: 'calculate.mjs' })),
      )
    for (const r of results)
      expect(r).toMatchObject({ ok: true, value: { expression: '2^10 + sqrt(16) * (3 - 1)', result: 1032 } })
    expect(await pool.run(call(source, { expression: '1 / 0' }))).toMatchObject({
      ok: false,
      code: 'TOOL_FAILED',
      error: expect.stringContaining('division by zero'),
    })
  })

  test('nothing survives from one call to the next', async () => {
    await pool.run(call('globalThis.counter = (globalThis.counter ?? 0) + 1; export default () => globalThis.counter'))
    const r = await pool.run(
      call('globalThis.counter = (globalThis.counter ?? 0) + 1; export default () => globalThis.counter'),
    )
    expect(r).toMatchObject({ ok: true, value: 1 })
  })
})

describe('limits', () => {
  const pool = newPool({ size: 1 })

  test('time: a busy tool ends at its deadline', async () => {
    const r = await pool.run(
      call('export default () => { for (;;) {} }', {}, { limits: { ...LIMITS, timeoutMs: 200 } }),
    )
    expect(r).toMatchObject({ ok: false, code: 'TOOL_TIMEOUT', error: expect.stringContaining('200 ms') })
    expect(r.ms).toBeGreaterThanOrEqual(195)
    expect(r.ms).toBeLessThan(1500)
    // the same work within a larger limit finishes
    const fine = await pool.run(
      call(
        'export default () => { const end = Date.now() + 100; while (Date.now() < end) {} return "done" }',
        {},
        { limits: { ...LIMITS, timeoutMs: 1000 } },
      ),
    )
    expect(fine).toMatchObject({ ok: true, value: 'done' })
  })

  test('memory: the same allocation fails under 8 MB and succeeds under 64 MB', async () => {
    const source =
      'export default () => { const a = []; ' +
      'for (let i = 0; i < 400000; i++) a.push({ i, s: "v" + i }); return a.length }'
    expect(await pool.run(call(source, {}, { limits: { ...LIMITS, memoryMb: 8 } }))).toMatchObject({
      ok: false,
      code: 'TOOL_MEMORY',
      error: expect.stringContaining('8 MB'),
    })
    expect(await pool.run(call(source, {}, { limits: { ...LIMITS, memoryMb: 64 } }))).toMatchObject({
      ok: true,
      value: 400000,
    })
  })

  test('output: the limit is in bytes of JSON', async () => {
    const source = 'export default ({ n }) => "x".repeat(n)'
    // "x" * 98 is 100 bytes of JSON with its quotes
    expect(await pool.run(call(source, { n: 98 }, { limits: { ...LIMITS, maxOutputBytes: 100 } }))).toMatchObject({
      ok: true,
    })
    expect(await pool.run(call(source, { n: 99 }, { limits: { ...LIMITS, maxOutputBytes: 100 } }))).toMatchObject({
      ok: false,
      code: 'TOOL_OUTPUT',
    })
  })

  test('nonsense limits are clamped, not trusted', async () => {
    const r = await pool.run(
      call('export default () => 1', {}, { limits: { timeoutMs: Number.NaN, memoryMb: -5, maxOutputBytes: Infinity } }),
    )
    expect(r).toMatchObject({ ok: true, value: 1 })
  })
})

describe('the pool', () => {
  test('runs calls in parallel on at most `size` workers', async () => {
    const pool = newPool({ size: 2 })
    const source = 'export default ({ i }) => { const end = Date.now() + 150; while (Date.now() < end) {} return i }'
    const t0 = performance.now()
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => pool.run(call(source, { i }))))
    const elapsed = performance.now() - t0
    expect(results.map((r) => (r as { value: number }).value)).toEqual([0, 1, 2, 3, 4, 5])
    expect(pool.pids().length).toBe(2)
    for (const pid of pool.pids()) seenPids.add(pid)
    // six 150 ms calls on two workers: about 450 ms, not 900 (allowing for start-up on a busy machine)
    expect(elapsed).toBeLessThan(900 + 1500)
    await pool.close()
    expect(pool.pids()).toEqual([])
  })

  test('a worker killed from outside answers TOOL_CRASH and is replaced', async () => {
    const pool = newPool({ size: 1 })
    await pool.run(call('export default () => 0'))
    const [pid] = pool.pids()
    seenPids.add(pid as number)
    const running = pool.run(
      call('export default () => { for (;;) {} }', {}, { limits: { ...LIMITS, timeoutMs: 10_000 } }),
    )
    await new Promise((r) => setTimeout(r, 100))
    process.kill(pid as number, 'SIGKILL')
    expect(await running).toMatchObject({ ok: false, code: 'TOOL_CRASH', error: expect.stringContaining('SIGKILL') })
    expect(await pool.run(call('export default () => "again"'))).toMatchObject({ ok: true, value: 'again' })
    expect(pool.pids()).toHaveLength(1)
    expect(pool.pids()[0]).not.toBe(pid)
    for (const p of pool.pids()) seenPids.add(p)
  })

  test('a worker that never answers is SIGKILLed after the deadline and replaced', async () => {
    const silent = `process.on('message', () => {}); process.send({ t: 'ready' })`
    const pool = newPool({ size: 1, workerScript: silent, killGraceMs: 100 })
    const r = await pool.run(call('export default () => 1', {}, { limits: { ...LIMITS, timeoutMs: 200 } }))
    expect(r).toMatchObject({ ok: false, code: 'TOOL_TIMEOUT', error: expect.stringContaining('killed') })
    expect(r.ms).toBeLessThan(2000)
    const r2 = await pool.run(call('export default () => 1', {}, { limits: { ...LIMITS, timeoutMs: 200 } }))
    expect(r2).toMatchObject({ ok: false, code: 'TOOL_TIMEOUT' })
    await pool.close()
  })

  test('a worker that dies, or sends anything malformed, answers TOOL_CRASH', async () => {
    const dies = newPool({
      size: 1,
      workerScript: `process.on('message', () => process.exit(3)); process.send({ t: 'ready' })`,
    })
    expect(await dies.run(call('export default () => 1'))).toMatchObject({
      ok: false,
      code: 'TOOL_CRASH',
      error: expect.stringContaining('exit code 3'),
    })
    // a worker that answers every message `m` with `reply`
    const answering = (reply: string) => `process.on('message', (m) => process.send(${reply}))`
    const liars = [
      answering(`{ t: 'result', id: m.id + 1, ok: true, json: '1', recycle: false }`),
      answering(`{ t: 'result', id: m.id, ok: true, json: 42, recycle: false }`),
      answering(`{ t: 'result', id: m.id, ok: false, code: 'TOOL_OK', error: 'x', recycle: false }`),
      answering(`{ t: 'cap', id: m.id, callId: 'one', name: {}, args: 1 }`),
      answering(`'hello'`),
    ]
    for (const script of liars) {
      const pool = newPool({ size: 1, workerScript: `${script}; process.send({ t: 'ready' })` })
      expect(await pool.run(call('export default () => 1'))).toMatchObject({ ok: false, code: 'TOOL_CRASH' })
      await pool.close()
    }
    // a worker claiming a result larger than the limit, or nested too deep, is refused here too
    const tooBig = `{ t: 'result', id: m.id, ok: true, json: JSON.stringify('x'.repeat(1000)), recycle: false }`
    const big = newPool({ size: 1, workerScript: `${answering(tooBig)}; process.send({ t: 'ready' })` })
    expect(
      await big.run(call('export default () => 1', {}, { limits: { ...LIMITS, maxOutputBytes: 100 } })),
    ).toMatchObject({ ok: false, code: 'TOOL_OUTPUT' })
    await big.close()
    await dies.close()
  })

  test('a worker cannot call capabilities outside a call it was given, nor ungranted ones', async () => {
    let calls = 0
    const host: Capabilities = { secret: async () => ++calls }
    const script = `process.on('message', (m) => {
      if (m.t === 'run') process.send({ t: 'cap', id: m.id, callId: 1, name: 'secret', args: '{}' })
      else if (m.t === 'capResult')
        process.send({ t: 'result', id: m.id, ok: true, json: JSON.stringify(m), recycle: false })
    }); process.send({ t: 'ready' })`
    const pool = newPool({ size: 1, workerScript: script })
    const r = await pool.run(call('export default () => 1'), host)
    expect(r).toMatchObject({
      ok: true,
      value: { t: 'capResult', ok: false, payload: expect.stringContaining('not granted') },
    })
    expect(calls).toBe(0)
    await pool.close()
  })

  test('close() ends calls in flight and later calls with TOOL_CRASH, and kills the workers', async () => {
    const pool = newPool({ size: 1 })
    const running = pool.run(
      call('export default () => new Promise(() => {})', {}, { limits: { ...LIMITS, timeoutMs: 10_000 } }),
    )
    const queued = pool.run(call('export default () => 1'))
    await waitFor(() => pool.pids().length === 1)
    const [pid] = pool.pids()
    await pool.close()
    expect(await running).toMatchObject({ ok: false, code: 'TOOL_CRASH' })
    expect(await queued).toMatchObject({ ok: false, code: 'TOOL_CRASH' })
    expect(await pool.run(call('export default () => 1'))).toMatchObject({
      ok: false,
      code: 'TOOL_CRASH',
      error: expect.stringContaining('closed'),
    })
    expect(pool.pids()).toEqual([])
    expect(await waitFor(() => !alive(pid as number))).toBe(true)
    await pool.close()
  })

  test('run() never throws, whatever it is given', async () => {
    const pool = newPool({ size: 1 })
    const weird: unknown[] = [
      null,
      {},
      { source: 42, filename: 'x', args: {}, limits: LIMITS, capabilities: [] },
      call('export default () => 1', { n: 1n }),
      call('x'.repeat(5 * 1024 * 1024)),
      { ...call('export default () => 1'), capabilities: 'all', filename: undefined },
    ]
    for (const w of weird) {
      const r = await pool.run(w as SandboxCall)
      expect(typeof r.ok).toBe('boolean')
      expect(r.ms).toBeGreaterThanOrEqual(0)
    }
    expect(await pool.run(call('export default () => "still fine"'))).toMatchObject({ ok: true, value: 'still fine' })
    await pool.close()
  })
})

describe('the worker process', () => {
  const hardened = workerExecArgv('/x').some((a) => /permission/.test(a))

  test('is started with --no-node-snapshot, without wasm, and an empty environment', async () => {
    const args = workerExecArgv('/x')
    expect(args).toEqual(expect.arrayContaining(['--no-node-snapshot', '--no-expose-wasm']))
    const probe = `process.on('message', (m) => process.send({ t: 'result', id: m.id, ok: true, recycle: false,
      json: JSON.stringify({ env: Object.keys(process.env), wasm: typeof WebAssembly, argv: process.execArgv }),
    })); process.send({ t: 'ready' })`
    const pool = newPool({ size: 1, workerScript: probe })
    const r = await pool.run(call('export default () => 1'))
    expect(r).toMatchObject({ ok: true, value: { env: [], wasm: 'undefined' } })
    await pool.close()
  })
  ;(hardened ? test : test.skip)('cannot write files or start processes (Node permission model)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-worker-'))
    const target = path.join(dir, 'written')
    const probe = `process.on('message', (m) => {
      const out = {}
      const target = ${JSON.stringify(target)}
      try { require('node:fs').writeFileSync(target, 'x'); out.write = 'allowed' } catch (e) { out.write = e.code }
      try { require('node:child_process').execFileSync('true'); out.spawn = 'allowed' } catch (e) { out.spawn = e.code }
      try { require('node:fs').readFileSync('/etc/hostname'); out.read = 'allowed' } catch (e) { out.read = e.code }
      process.send({ t: 'result', id: m.id, ok: true, recycle: false, json: JSON.stringify(out) })
    }); process.send({ t: 'ready' })`
    const pool = newPool({ size: 1, workerScript: probe })
    const r = await pool.run(call('export default () => 1'))
    expect(r).toMatchObject({
      ok: true,
      value: { write: 'ERR_ACCESS_DENIED', spawn: 'ERR_ACCESS_DENIED', read: 'ERR_ACCESS_DENIED' },
    })
    expect(existsSync(target)).toBe(false)
    rmSync(dir, { recursive: true, force: true })
    await pool.close()
  })
})

describe('processes', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mirador-sandbox-proc-'))
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))

  function runNode(
    args: string[],
    script: string,
  ): {
    status: number | null
    signal: string | null
    out: { r: { ok: boolean; value?: unknown }; pids: number[] } | undefined
    ms: number
    stderr: string
  } {
    const file = path.join(tmp, `s${Math.random().toString(36).slice(2)}.mjs`)
    writeFileSync(file, script)
    const t0 = Date.now()
    const res = spawnSync(process.execPath, [...args, file], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 25_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    const line = res.stdout.trim().split('\n').pop()
    return {
      status: res.status,
      signal: res.signal,
      out: line ? JSON.parse(line) : undefined,
      ms: Date.now() - t0,
      stderr: res.stderr,
    }
  }

  const script = (entry: string) => `
    const { createSandboxPool } = await import(${JSON.stringify(entry)})
    const pool = createSandboxPool()
    const r = await pool.run({
      source: 'export default (a) => a.x * 3', filename: 't.mjs', args: { x: 14 },
      limits: { timeoutMs: 2000, memoryMb: 16, maxOutputBytes: 1000 }, capabilities: [],
    })
    console.log(JSON.stringify({ r, pids: pool.pids() }))
    // no close(): the idle pool must not keep this process alive
  `

  test('an idle pool does not keep the process alive, and its worker goes with it', async () => {
    const entry = pathToFileURL(path.join(ROOT, 'src/plugins/tools/sandbox/index.ts')).href
    const res = runNode(['--no-node-snapshot', '--import', './test/support/ts-loader.mjs'], script(entry))
    expect(res.signal).toBeNull()
    expect(res.status).toBe(0)
    expect(res.out?.r).toMatchObject({ ok: true, value: 42 })
    expect(res.out?.pids).toHaveLength(1)
    for (const pid of res.out?.pids ?? []) expect(await waitFor(() => !alive(pid))).toBe(true)
  })

  test('runs from the compiled dist/ (the CLI) too', async () => {
    const built = path.join(ROOT, 'dist/plugins/tools/sandbox/index.js')
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`)
    const res = runNode(['--no-node-snapshot'], script(pathToFileURL(built).href))
    expect(res.status).toBe(0)
    expect(res.out?.r).toMatchObject({ ok: true, value: 42 })
    for (const pid of res.out?.pids ?? []) expect(await waitFor(() => !alive(pid))).toBe(true)
  })
})
