/**
 * A plugin host: the process one sandboxed plugin runs in (started by host-process.ts under Node's
 * permission model, bundled on its own as dist/sandbox/host.js). Before the plugin's code loads it
 * closes the network and watches refused accesses; then it loads the plugin with a stand-in engine
 * (host-engine.ts) and answers Mirador's proxied tap calls. It exits when Mirador's channel closes.
 */
import { register } from 'node:module'
import { pathToFileURL } from 'node:url'
import { instantiate } from '../engine/plugins.js'
import { errorData, tamperedFields, toData } from './hook-data.js'
import { closeNetwork, closeWorkers } from './host-barrier.js'
import { runCommand } from './host-command.js'
import { hostEngine, type HostEngine } from './host-engine.js'
import { callHook, type HostHook } from './host-hooks.js'
import { watchAccess } from './host-watch.js'
import type { ContextData, FetchAnswer, FromHost, HostCall, HostInit, ToHost } from './protocol.js'

// taken before any plugin code runs: what the plugin later replaces does not affect the host
const send = process.send?.bind(process)
const exit = process.exit.bind(process)
if (!send) {
  process.stderr.write('the plugin host runs only as a child of Mirador\n')
  exit(2)
}
process.on('disconnect', () => exit(0))

function post(message: FromHost): void {
  try {
    send!(message)
  } catch {
    // the channel is gone: 'disconnect' ends the process
  }
}

let nextRequest = 1
const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()

function request(kind: 'capability' | 'chains' | 'fetch', name?: string, args?: unknown): Promise<unknown> {
  const id = nextRequest++
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject })
    post({ t: 'request', id, kind, ...(name ? { name } : {}), ...(args === undefined ? {} : { args: toData(args) }) })
  })
}

const refused = (kind: Extract<FromHost, { t: 'access' }>['kind'], detail: string) =>
  post({ t: 'access', kind, detail })

async function sandboxFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const req = new Request(input, init)
  const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined
  const answer = (await request('fetch', undefined, {
    url: req.url,
    method: req.method,
    headers: [...req.headers],
    ...(body ? { body } : {}),
  })) as FetchAnswer
  const empty = [101, 204, 205, 304].includes(answer.status)
  return new Response(empty ? null : answer.body, {
    status: answer.status,
    statusText: answer.statusText,
    headers: answer.headers,
  })
}

watchAccess(refused)
closeNetwork(refused, sandboxFetch)

let host: HostEngine | undefined
let loaded: Promise<void> | undefined
const controllers = new Map<number, AbortController>()

async function load(init: HostInit): Promise<void> {
  // the plugin imports @mirador/plugin-api: Mirador's own copy, wherever the plugin lives
  const hook =
    'export async function resolve(specifier, context, next) {' +
    ` if (specifier === '@mirador/plugin-api') return { url: ${JSON.stringify(init.apiUrl)}, shortCircuit: true };` +
    ' return next(specifier, context) }'
  register(`data:text/javascript,${encodeURIComponent(hook)}`)
  closeWorkers(refused)
  try {
    const mod = (await import(pathToFileURL(init.entryFile).href)) as Record<string, unknown>
    const plugin = instantiate(mod.default ?? mod, init.options, init.name)
    host = hostEngine(init, { request, refused })
    plugin.apply(host.engine as never)
    const tapped = [...host.hooks.values()].filter((h) => h.isUsed()).map((h) => h.name)
    post({ t: 'ready', tapped })
  } catch (err) {
    refusedIn(err)
    post({ t: 'ready', tapped: [], error: errorData(err) })
  }
}

/** An ERR_ACCESS_DENIED that escaped the plugin is a refused access too. */
function refusedIn(err: unknown): void {
  const e = err as { code?: unknown; permission?: unknown; resource?: unknown } | null
  if (e?.code === 'ERR_ACCESS_DENIED' && !(e as { reported?: unknown }).reported) {
    refused('internal', `${String(e.permission ?? 'access')} ${String(e.resource ?? '')}`.trim())
  }
}

function contextFor(data: ContextData, id: number): Record<string, unknown> {
  const controller = new AbortController()
  controllers.set(id, controller)
  const emit = (event: unknown) =>
    post({
      t: 'emit',
      call: controllers.has(id) ? id : 0,
      runId: data.runId,
      event: toData(event) as Record<string, unknown>,
    })
  return {
    ...structuredClone(data),
    signal: controller.signal,
    emit,
    log: (message: unknown, options: { level?: string; plugin?: string } = {}) =>
      emit({ type: 'log', level: options.level ?? 'info', message: String(message), ...options }),
  }
}

/** What a series tap may change in its arguments: a stage's summary, what forgetting removed. */
function changesOf(call: HostCall, args: unknown[]): Record<string, unknown> | undefined {
  if (call.hook === 'stageDone') return { summary: toData((args[1] as { summary?: unknown }).summary) }
  if (call.hook === 'forget') {
    const req = args[0] as { removed?: unknown; runIds?: unknown }
    return { removed: toData(req.removed), runIds: toData(req.runIds) }
  }
  return undefined
}

async function call(m: HostCall): Promise<void> {
  await loaded
  const hook: HostHook | undefined = host?.hooks.get(m.hook)
  if (!hook?.isUsed()) return post({ t: 'result', id: m.id, ok: true, value: m.args[0] })
  const ctx = m.ctx ? contextFor(m.ctx, m.id) : undefined
  const args = ctx ? [m.args[0], ctx] : m.args
  try {
    let value = await callHook(hook, args)
    // a router answers with a loaded chain in process; across, its name is enough
    if (m.hook === 'route' && value && typeof (value as { chain?: unknown }).chain === 'object') {
      const answer = value as { chain: { name?: unknown }; queryType?: unknown }
      value = { ...answer, chain: answer.chain.name }
    }
    const tampered = ctx && m.ctx ? tamperedFields(m.ctx, ctx) : []
    const changes = changesOf(m, args)
    post({
      t: 'result',
      id: m.id,
      ok: true,
      value: toData(value),
      ...(changes ? { changes } : {}),
      ...(tampered.length ? { tampered } : {}),
    })
  } catch (err) {
    refusedIn(err)
    post({ t: 'result', id: m.id, ok: false, error: errorData(err) })
  } finally {
    controllers.delete(m.id)
  }
}

async function provide(id: number, name: string, args: unknown): Promise<void> {
  await loaded
  try {
    const fn = host?.provided.get(name)
    if (!fn) throw new Error(`plugin provides no capability ${name}`)
    post({ t: 'result', id, ok: true, value: toData(await fn(args)) })
  } catch (err) {
    refusedIn(err)
    post({ t: 'result', id, ok: false, error: errorData(err) })
  }
}

process.on('message', (m: ToHost) => {
  switch (m.t) {
    case 'init':
      loaded ??= load(m)
      return
    case 'call':
      return void call(m)
    case 'capability':
      return void provide(m.id, m.name, m.args)
    case 'abort':
      return controllers.get(m.id)?.abort()
    case 'command':
      return void runCommand(m, { post, loaded, refusedIn })
    case 'reply': {
      const w = waiting.get(m.id)
      waiting.delete(m.id)
      if (!w) return
      if (m.ok) w.resolve(m.value)
      else w.reject(Object.assign(new Error(m.error?.message ?? 'refused'), { code: m.error?.code }))
    }
  }
})

// the plugin's own mistakes outside a tap (a stray rejection, a timer that throws) do not end the host
process.on('unhandledRejection', refusedIn)
process.on('uncaughtException', refusedIn)
