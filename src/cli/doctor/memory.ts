/**
 * `mirador doctor`'s look at the memory store: off, a server named by CHROMA_URL (does it answer),
 * or the local server Mirador shares between runs (is one running for this $MIRADOR_HOME, where,
 * its pids and idle timeout). It only looks: no server is started or stopped here.
 */
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
}

function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

export async function checkMemory(opts: {
  /** the memory plugin is applied */
  plugin: boolean
  /** the user's memory setting (flag, environment, config) */
  enabled: boolean
  home: string
  env: NodeJS.ProcessEnv
}): Promise<MemoryReport> {
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
  if (!info.running || !rec)
    return {
      ok: true,
      state: 'stopped',
      data,
      detail: `none running for this MIRADOR_HOME: the first run with memory starts one (data in ${data})`,
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
    detail:
      `${rec.url} (supervisor pid ${rec.pid}, Chroma pid ${rec.chromaPid}): ${idle}` +
      (info.idleForMs !== undefined ? `, last used ${duration(info.idleForMs)} ago` : '') +
      '; `mirador memory stop` stops it now',
  }
}
