/**
 * `mirador models pull`: the embedded model downloaded from a Hugging Face hub double (its `resolve`
 * URLs, a 302 to a CDN path, ranges), resumed after a cut, refused when its sha256 is not the pin,
 * and clear errors offline and with no network. The double serves the test GGUF.
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { BIN, makeProject, ROOT, runCli } from '../support/cli.js'
import { FILE, hfServer, manifest, REPO, REVISION, SHA256 } from '../support/hf-default.js'
import type { HfServerOptions, HfTestServer } from '../support/hf-server.js'
import { unusedPort } from '../support/ollama-server.js'
import { describeGguf, gguf } from '../support/test-gguf.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

interface PullJson {
  model: string
  path: string
  url: string
  bytes: number
  present: boolean
  resumedFrom: number
  requests: number
}

describeGguf('mirador models pull', () => {
  const servers: HfTestServer[] = []
  const start = async (opts: Omit<HfServerOptions, 'files'> = {}) => {
    const s = await hfServer(opts)
    servers.push(s)
    return s
  }
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close()
  })
  const project = (text = manifest()) => {
    const p = makeProject({ 'models/manifest.yaml': text })
    return { ...p, file: path.join(p.home, 'models', FILE) }
  }
  const pull = (p: { dir: string; home: string }, url: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) =>
    runCli(['models', 'pull', ...args], {
      cwd: p.dir,
      env: { MIRADOR_HOME: p.home, MIRADOR_HF_ENDPOINT: url, ...env },
    })

  it("downloads through the hub's resolve URL and its redirect, checks the file, says where it went", async () => {
    const hub = await start({ redirect: true })
    const p = project()
    const r = await pull(p, hub.url, ['default', '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as PullJson
    const size = statSync(gguf()).size
    expect(out).toMatchObject({ model: 'default', path: p.file, bytes: size, present: false, resumedFrom: 0 })
    expect(out.url).toBe(`${hub.url}/${REPO}/resolve/${REVISION}/${FILE}`)
    expect(sha(p.file)).toBe(SHA256)
    expect(existsSync(`${p.file}.partial`)).toBe(false)
    expect(hub.requests.map((q) => [q.path, q.status, q.range])).toEqual([
      [`/${REPO}/resolve/${REVISION}/${FILE}`, 302, undefined],
      [`/cdn/${REPO}/resolve/${REVISION}/${FILE}`, 200, undefined],
    ])
    // the hash went into the cache, so loading it will not hash it again
    const cache = JSON.parse(readFileSync(path.join(p.home, 'models', 'verified.json'), 'utf8')) as {
      files: Record<string, { sha256: string }>
    }
    expect(cache.files[p.file]?.sha256).toBe(SHA256)

    // once there, nothing is fetched again
    const again = await pull(p, hub.url)
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/✓ default is already downloaded: .*stories260K\.gguf/)
    expect(hub.requests).toHaveLength(2)
  })

  it('without a terminal, progress is plain lines on stderr and the result one line on stdout', async () => {
    const hub = await start()
    const p = project()
    const r = await pull(p, hub.url)
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(`default: ${hub.url}/${REPO}/resolve/${REVISION}/${FILE} (1.2 MB)`)
    expect(r.stderr).toMatch(/^pulling default \[#{24}\] 100% \(1\.2\/1\.2 MB/m)
    expect(r.stderr).not.toContain('\r')
    expect(r.stdout).toMatch(
      /^✓ default downloaded to .*stories260K\.gguf \(1\.2 MB at [\d.]+ [KMG]?B\/s\), sha256 verified$/m,
    )
  })

  it('a connection cut mid-body is resumed with a Range request, and the whole file verifies', async () => {
    const hub = await start({ redirect: true, cutAfter: 400_000, cutRequests: 1 })
    const p = project()
    const r = await pull(p, hub.url, ['--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect((JSON.parse(r.stdout) as PullJson).requests).toBe(2)
    const bodies = hub.requests.filter((q) => q.path.startsWith('/cdn/'))
    expect(bodies.map((q) => q.status)).toEqual([200, 206])
    expect(bodies[0]!.range).toBeUndefined()
    // the range asked for follows the redirect, and starts where the bytes on disk end
    expect(hub.requests[2]!.range).toBe('bytes=400000-')
    expect(bodies[1]!.range).toBe('bytes=400000-')
    expect(sha(p.file)).toBe(SHA256)
  })

  it('a download that keeps being cut fails, keeps what arrived, and the next pull resumes from it', async () => {
    // each try brings 100 kB: after the first try and 3 resumes, 400 kB of 1.2 MB
    const cutting = await start({ cutAfter: 100_000 })
    const p = project()
    const r = await pull(p, cutting.url)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^✗ MODEL_DOWNLOAD: the download from 127\.0\.0\.1:\d+ was cut off at [\d,]+ bytes of [\d,]+/m,
    )
    expect(r.stderr).toContain('What arrived is kept: run `mirador models pull default` again to resume.')
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(cutting.requests.map((q) => q.range)).toEqual([undefined, 'bytes=100000-', 'bytes=200000-', 'bytes=300000-'])
    const kept = statSync(`${p.file}.partial`).size
    expect(kept).toBe(400_000)
    expect(existsSync(p.file)).toBe(false)

    const hub = await start()
    const again = await pull(p, hub.url, ['--json'])
    expect(again.code).toBe(0)
    expect(hub.requests.map((q) => [q.status, q.range])).toEqual([[206, `bytes=${kept}-`]])
    expect((JSON.parse(again.stdout) as PullJson).resumedFrom).toBe(kept)
    expect(sha(p.file)).toBe(SHA256)
  })

  it('Ctrl-C stops the download and keeps what arrived; the next pull resumes from it', async () => {
    const stalling = await start({ stallAfter: 200_000 })
    const p = project()
    const child = spawn(process.execPath, [BIN, 'models', 'pull'], {
      cwd: p.dir,
      env: { PATH: process.env.PATH, HOME: p.dir, MIRADOR_HOME: p.home, MIRADOR_HF_ENDPOINT: stalling.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    const partial = `${p.file}.partial`
    // the bytes before the stall have arrived (the progress line says so), not all written yet
    for (let i = 0; i < 200 && !/\(0\.2\/1\.2 MB/.test(stderr); i++) await sleep(50)
    await sleep(300)
    child.kill('SIGINT')
    expect(await exited).toBe(1)
    expect(stderr).toContain(
      '✗ ABORTED: the download was stopped at 200,000 bytes; what arrived is kept: ' +
        'run `mirador models pull default` to resume',
    )
    expect(statSync(partial).size).toBe(200_000)
    expect(existsSync(p.file)).toBe(false)

    const hub = await start()
    const again = await pull(p, hub.url)
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/\(1\.2 MB at [\d.]+ [KMG]?B\/s, resumed at 200\.0 KB\), sha256 verified/)
    expect(hub.requests.map((q) => q.range)).toEqual(['bytes=200000-'])
    expect(sha(p.file)).toBe(SHA256)
  })

  it('a server that ignores Range starts over and still gives the right file', async () => {
    const hub = await start({ ignoreRange: true })
    const p = project()
    mkdirSync(path.dirname(p.file), { recursive: true })
    writeFileSync(`${p.file}.partial`, Buffer.alloc(1000, 7))
    const r = await pull(p, hub.url, ['--json'])
    expect(r.code).toBe(0)
    expect(hub.requests.map((q) => [q.status, q.range])).toEqual([[200, 'bytes=1000-']])
    expect(sha(p.file)).toBe(SHA256)
  })

  it('a file that is not the pinned sha256 is deleted, and the error says the pin or the source is wrong', async () => {
    const hub = await start()
    const p = project(manifest({ sha256: 'ab'.repeat(32) }))
    const r = await pull(p, hub.url, ['--json'])
    expect(r.code).toBe(1)
    const err = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error
    expect(err.code).toBe('MODEL_INVALID')
    expect(err.message).toContain(`sha256 ${SHA256} instead of the pinned ${'ab'.repeat(32)}. It was deleted.`)
    expect(existsSync(p.file)).toBe(false)
    expect(existsSync(`${p.file}.partial`)).toBe(false)
  })

  it('--offline and MIRADOR_OFFLINE refuse before any request, naming what to do', async () => {
    const hub = await start()
    const p = project()
    for (const [args, env] of [
      [['--offline'], {}],
      [[], { MIRADOR_OFFLINE: '1' }],
    ] as const) {
      const r = await pull(p, hub.url, [...args], env)
      expect(r.code).toBe(1)
      expect(r.stderr.trim()).toBe(
        // nothing before it: no URL line, no progress
        '✗ MODEL_DOWNLOAD: default is not downloaded and --offline (or MIRADOR_OFFLINE) forbids downloading it. ' +
          `Run \`mirador models pull default\` when online, or copy the file to ${p.file}.`,
      )
    }
    expect(hub.requests).toEqual([])
  })

  it('an endpoint that does not answer is one line naming the host and what to check', async () => {
    const port = await unusedPort()
    const p = project()
    const r = await pull(p, `http://127.0.0.1:${port}`)
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `✗ MODEL_DOWNLOAD: cannot reach 127.0.0.1:${port} (connection refused). ` +
        'Check the network (and a proxy or MIRADOR_HF_ENDPOINT), then run `mirador models pull default` again.',
    )
  })

  it('a file the hub does not have is a 404 naming the manifest as the place to look', async () => {
    const hub = await start()
    const p = project(manifest().replace(`file: ${FILE}`, 'file: other.gguf'))
    const r = await pull(p, hub.url)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^✗ MODEL_DOWNLOAD: http:.*\/other\.gguf answered HTTP 404 \(not found: the repository/m)
  })

  it('an Ollama entry is not pulled here, and an unknown name lists the entries', async () => {
    const p = project()
    const ollama = await pull(p, 'http://127.0.0.1:1', ['quick'])
    expect(ollama.code).toBe(2)
    expect(ollama.stderr).toMatch(/USAGE: quick is an Ollama model: Ollama pulls it \(`ollama pull llama3\.2:1b`/)
    const unknown = await pull(p, 'http://127.0.0.1:1', ['nope'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/USAGE: nope: not in the manifest .*Its entries: quick, deep, default/)
  })
})

describe('the shipped manifest', () => {
  it('pins the embedded default (repository, file, commit, size, sha256); Ollama entries fall back to it', async () => {
    const p = makeProject({})
    const r = await runCli(['models', 'pull', '--offline', '--json'], { cwd: p.dir, env: { MIRADOR_HOME: p.home } })
    expect(r.code).toBe(1)
    const err = (JSON.parse(r.stdout) as { error: { code: string; details: { file: string } } }).error
    expect(err.code).toBe('MODEL_DOWNLOAD')
    expect(err.details.file).toBe(path.join(p.home, 'models', 'Qwen2.5-0.5B-Instruct-Q4_K_M.gguf'))
    const text = readFileSync(path.join(ROOT, 'models', 'manifest.yaml'), 'utf8')
    expect(text).toMatch(/repo: bartowski\/Qwen2\.5-0\.5B-Instruct-GGUF\n/)
    expect(text).toMatch(/revision: 21ef23001f314d0895bd8439b08157c2d4cd9bb7\n/)
    expect(text).toMatch(/size_bytes: 397808192\n/)
    expect(text).toMatch(/sha256: 6eb923e7d26e9cea28811e1a8e852009b21242fb157b26149d3b188f3a8c8653\n/)
    expect(text.match(/fallback: default/g)).toHaveLength(2)
  })
})
