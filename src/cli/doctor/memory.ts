/**
 * `mirador doctor`'s look at the memory store: off, a server named by CHROMA_URL (does it answer),
 * or the local server Mirador shares between runs (is one running for this $MIRADOR_HOME, where,
 * its pids and idle timeout, and whether Chroma has a network of its own). It also looks at
 * $MIRADOR_HOME's mode. It only looks: no server is started or stopped here.
 */
import { stat } from 'node:fs/promises'
import { isolation } from '../../plugins/memory/chroma/isolation.js'
import { CHROMA_URL_ENV, chromaPaths, chromaServerInfo, heartbeat } from '../../plugins/memory/chroma/server.js'

export interface MemoryReport {
  ok: boolean
  /** off: nothing recalled or kept; external: CHROMA_URL; running / stopped: Mirador's local server */
  state: 'off' | 'external' | 'running' | 'stopped'
  detail: string
  url?: string
  /** the supervisor of the local server, and Chroma itself */
  pid?: number
  chromaPid?: number
  /** the local server stops itself after this long without use (0: never) */
  idleTimeoutMs?: number
  /** how long since Mirador last used it */
  idleForMs?: number
  data?: string
  /** Chroma listens in a network of its own: only the guard (with the token) reaches it */
  isolated?: boolean
  /** which embedder memories are in, which the config names, and why the bundled encoder cannot load */
  embedder?: EmbedderReport
}

export interface EmbedderReport {
  ok: boolean
  active: string
  configured: string
  fallback?: string
  detail: string
}

/**
 * What doctor says of the embedder: a broken install (the bundled encoder cannot load) fails; memories
 * waiting for `memory reindex` are said, but are not a failure (runs recall them where they are).
 */
export function embedderReport(e: { active: string; configured: string; fallback?: string }): EmbedderReport {
  const name = (id: string) => (id.startsWith('use-') ? `${id} (the bundled sentence encoder)` : id)
  if (e.fallback)
    return {
      ok: false,
      ...e,
      detail:
        `${e.active}: the bundled sentence encoder cannot load (${e.fallback}), so memory matches words only; ` +
        'reinstall Mirador, then `mirador memory reindex`',
    }
  if (e.active !== e.configured)
    return {
      ok: true,
      ...e,
      detail:
        `${e.active}: the memories are still in its collection and the config names ${name(e.configured)}; ` +
        '`mirador memory reindex` moves them',
    }
  return { ok: true, ...e, detail: name(e.active) }
}

function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

export interface CheckMemoryOptions {
  /** the memory plugin is applied */
  plugin: boolean
  /** the memory plugin's embedders (see embedderReport) */
  embedder?: { active: string; configured: string; fallback?: string }
  /** the user's memory setting (flag, environment, config) */
  enabled: boolean
  home: string
  env: NodeJS.ProcessEnv
}

/** the fix for a $MIRADOR_HOME others can open, or undefined */
async function looseHome(home: string): Promise<string | undefined> {
  if (process.platform === 'win32') return undefined
  const st = await stat(home).catch(() => undefined)
  if (!st || (st.mode & 0o077) === 0) return undefined
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0')
  return `$MIRADOR_HOME (${home}) can be opened by other users (mode ${mode}): run chmod 700 '${home}'`
}

export async function checkMemory(opts: CheckMemoryOptions): Promise<MemoryReport> {
  const store = await checkStore(opts)
  if (store.state === 'off') return store
  const loose = await looseHome(opts.home)
  const report = loose ? { ...store, ok: false, detail: `${store.detail}; ${loose}` } : store
  if (!opts.embedder) return report
  const embedder = embedderReport(opts.embedder)
  return { ...report, ok: report.ok && embedder.ok, embedder }
}

async function checkStore(opts: CheckMemoryOptions): Promise<MemoryReport> {
  if (!opts.plugin)
    return { ok: true, state: 'off', detail: 'the memory plugin is turned off (builtins: { memory: false })' }
  if (!opts.enabled)
    return {
      ok: true,
      state: 'off',
      detail: 'memory is off (MIRADOR_MEMORY=off, or memory: off in config): nothing is recalled or kept',
    }
  const external = opts.env[CHROMA_URL_ENV]?.trim()
  if (external) {
    let url = external
    try {
      url = new URL(external).origin
    } catch {
      return {
        ok: false,
        state: 'external',
        url,
        detail: `CHROMA_URL is not an http(s) URL: set it like http://host:8000`,
      }
    }
    const hb = await heartbeat(url, 3000)
    return hb.ok
      ? { ok: true, state: 'external', url, detail: `Chroma at ${url} (CHROMA_URL) answers` }
      : {
          ok: false,
          state: 'external',
          url,
          detail: `Chroma at ${url} (CHROMA_URL) does not answer: ${hb.reason}. Start it, or unset CHROMA_URL`,
        }
  }
  const data = chromaPaths(opts.home).data
  const info = await chromaServerInfo(opts.home)
  const rec = info.record
  if (!info.running || !rec) {
    const how = await isolation(opts.env)
    return {
      ok: true,
      state: 'stopped',
      data,
      isolated: how.ok,
      detail:
        `none running for this MIRADOR_HOME: the first run with memory starts one (data in ${data})` +
        (how.ok
          ? ', in a network of its own'
          : `; NOT isolated: ${how.reason}, so its own port will be open to local users`),
    }
  }
  const idle = rec.idleMs === 0 ? 'never stops by itself' : `stops after ${duration(rec.idleMs)} without use`
  return {
    ok: true,
    state: 'running',
    url: rec.url,
    pid: rec.pid,
    chromaPid: rec.chromaPid,
    idleTimeoutMs: rec.idleMs,
    ...(info.idleForMs !== undefined ? { idleForMs: Math.round(info.idleForMs) } : {}),
    data,
    isolated: rec.isolated === true,
    detail:
      `${rec.url} (supervisor pid ${rec.pid}, Chroma pid ${rec.chromaPid}): ${idle}` +
      (rec.isolated
        ? '; Chroma in a network of its own, reached only with the token'
        : `; NOT isolated: Chroma's own port ${rec.chromaPort ?? '?'} is open to local users`) +
      (info.idleForMs !== undefined ? `, last used ${duration(info.idleForMs)} ago` : '') +
      '; `mirador memory stop` stops it now',
  }
}
