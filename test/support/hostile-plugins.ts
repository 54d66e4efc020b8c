/**
 * What the tests of the hostile plugin corpus (test/fixtures/hostile-plugins) share: a project per
 * plugin (a copy of the plugin, a memory key where Mirador keeps it, a canary folder, the plugin's
 * entry in $MIRADOR_HOME/config.yaml) and the loopback listeners its network plugins reach for.
 */
import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { makeProject, ROOT } from './cli.js'

export const CORPUS = path.join(ROOT, 'test/fixtures/hostile-plugins')
/** every plugin of the corpus, by folder name */
export const HOSTILE: readonly string[] = readdirSync(CORPUS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort()

export const QUERY = 'what is the launch code'
const MANIFEST = 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n'
const CHAIN = 'stages:\n  only:\n    model: quick\n    prompt: "Q: {{query}}"\n'

/**
 * What the static analyzer (src/lib/static-analysis, run by `mirador tools check` and reused by
 * `mirador plugins check`) reports of each plugin that its declared permissions (none) do not
 * cover: `RULE FILE:LINE:COLUMN`. The plugins with [] hide nothing in their code a parser can see
 * (a loop, an allocation, an undeclared hook or capability): the sandbox's behaviour test and the
 * scoped host must catch those.
 */
export const STATIC: Readonly<Record<string, readonly string[]>> = {
  'answer-hijack': [],
  'beacon-net': ['network index.js:4:1'],
  'beacon-udp': ['network index.js:4:1'],
  'builtin-module': ['fs-write index.js:18:7'],
  'capability-misuse': [],
  'computed-import': ['computed-import index.js:20:24'],
  'env-theft': ['env index.js:20:36', 'fs-write index.js:21:13'],
  'fetch-patch': ['network index.js:17:23', 'tamper index.js:18:5'],
  'infinite-loop': [],
  'install-scripts': ['fs-write postinstall.js:5:1', 'env postinstall.js:5:25'],
  'json-tamper': ['tamper index.js:13:5'],
  'key-theft': ['fs-read index.js:21:25', 'fs-write index.js:22:13'],
  'memory-bomb': [],
  'obfuscated-eval': ['encoded-string index.js:8:3', 'eval index.js:22:13'],
  'process-binding': ['process-binding index.js:16:18', 'process-binding index.js:17:46'],
  'proto-pollution': ['tamper index.js:16:5', 'tamper index.js:21:5'],
  spawn: ['child-process index.js:3:1'],
  'time-bomb': [
    'fs-read index.js:14:31',
    'fs-write index.js:16:9',
    'fs-read index.js:37:27',
    'fs-write index.js:38:15',
  ],
  'worker-thread': ['unsafe-module index.js:5:1'],
}

/** What reached a listener: a TCP connection's bytes, a datagram, or an HTTP request's path and body. */
export interface Hit {
  via: 'tcp' | 'udp' | 'http'
  text: string
}

export interface Listeners {
  tcp: number
  udp: number
  http: number
  hits: Hit[]
  /** every connection or datagram that arrived, even one that sent nothing */
  arrivals: number
  close(): Promise<void>
}

/** A TCP, a UDP and an HTTP listener on 127.0.0.1 that record everything that reaches them. */
export async function startListeners(): Promise<Listeners> {
  const hits: Hit[] = []
  const state = { arrivals: 0 }
  const tcp = net.createServer((socket) => {
    state.arrivals++
    let text = ''
    socket.on('data', (d: Buffer) => (text += d.toString()))
    socket.on('end', () => {
      hits.push({ via: 'tcp', text })
      socket.end()
    })
    socket.on('error', () => {})
  })
  const web = http.createServer((req, res) => {
    state.arrivals++
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      hits.push({ via: 'http', text: `${req.method} ${req.url} ${body}` })
      res.writeHead(204).end()
    })
  })
  const udp = dgram.createSocket('udp4')
  udp.on('message', (m) => {
    state.arrivals++
    hits.push({ via: 'udp', text: m.toString() })
  })
  await Promise.all([
    new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r)),
    new Promise<void>((r) => web.listen(0, '127.0.0.1', r)),
    new Promise<void>((r) => udp.bind(0, '127.0.0.1', r)),
  ])
  return {
    tcp: (tcp.address() as AddressInfo).port,
    http: (web.address() as AddressInfo).port,
    udp: udp.address().port,
    hits,
    get arrivals() {
      return state.arrivals
    },
    close: async () => {
      web.closeAllConnections()
      await Promise.all([
        new Promise((r) => tcp.close(r)),
        new Promise((r) => web.close(r)),
        new Promise<void>((r) => udp.close(() => r())),
      ])
    },
  }
}

const made: string[] = []

/** Removes every project hostileProject made (in afterAll). */
export function removeProjects(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export interface HostileProject {
  /** the corpus folder name */
  name: string
  /** the plugin's own name (`hostile-NAME`) */
  plugin: string
  /** the project folder (also HOME for the CLI: see runCli) */
  dir: string
  /** $MIRADOR_HOME: HOME/.mirador, where Mirador keeps it by default, so a plugin that guesses finds it too */
  home: string
  /** the copy of the plugin the config lists */
  pluginDir: string
  canary: string
  /** the memory key's bytes */
  key: Buffer
  /** a secret in the CLI's environment, for env-theft */
  secret: string
  options: { canary: string; beacon: number; udp: number }
  /** the CLI's environment: MIRADOR_HOME, OLLAMA_HOST, the secret */
  env: Record<string, string>
}

/**
 * A project with the chain `ask`, a copy of the corpus plugin NAME and a memory key. `entry`
 * (when given) is added to the plugin's entry in $MIRADOR_HOME/config.yaml (`{ trusted: true }`);
 * without `entry` the plugin is listed nowhere.
 */
export function hostileProject(
  name: string,
  opts: { ollama: string; listeners: Listeners; entry?: Record<string, unknown> },
): HostileProject {
  const { dir } = makeProject({ 'chains/ask.yaml': CHAIN, 'models/manifest.yaml': MANIFEST })
  made.push(dir)
  const home = path.join(dir, '.mirador')
  mkdirSync(path.join(home, 'keys'), { recursive: true, mode: 0o700 })
  const key = randomBytes(32)
  writeFileSync(path.join(home, 'keys', 'memory.key'), key, { mode: 0o600 })
  const pluginDir = path.join(dir, 'plugins', name)
  cpSync(path.join(CORPUS, name), pluginDir, { recursive: true })
  const canary = path.join(dir, 'canary')
  mkdirSync(canary)
  const beacon = name === 'fetch-patch' ? opts.listeners.http : opts.listeners.tcp
  const options = { canary, beacon, udp: opts.listeners.udp }
  if (opts.entry) {
    const entry = { name: pluginDir, options, ...opts.entry }
    writeFileSync(path.join(home, 'config.yaml'), `plugins:\n  - ${JSON.stringify(entry)}\n`)
  }
  const secret = `sk-hostile-${randomBytes(12).toString('hex')}`
  return {
    name,
    plugin: `hostile-${name}`,
    dir,
    home,
    pluginDir,
    canary,
    key,
    secret,
    options,
    env: { MIRADOR_HOME: home, OLLAMA_HOST: opts.ollama, HOSTILE_SECRET: secret },
  }
}

/** The canary the plugin NAME writes, or undefined when there is none. */
export function canaryOf(p: HostileProject, file = p.name): string | undefined {
  const f = path.join(p.canary, file)
  return existsSync(f) ? readFileSync(f, 'utf8') : undefined
}

/** Runs the tasks at most `limit` at a time (the machine has two cores, shared), keeping their order. */
export async function inBatches<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length)
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++
      out[i] = await tasks[i]!()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return out
}
