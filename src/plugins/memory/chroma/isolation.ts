/**
 * Whether the bundled Chroma can listen where no other process can connect: a network namespace of
 * its own, made without privileges by `unshare --user --map-root-user --net` (util-linux), with its
 * loopback brought up by `ip` (iproute2). Chroma's own port then exists only inside that network;
 * the supervisor runs there too and serves the guard on a socket opened outside (start.ts).
 *
 * Where that is not possible (not Linux; unprivileged user namespaces turned off, as some
 * distributions and containers do; `unshare` or `ip` missing) Chroma listens on the machine's
 * loopback: the guard still refuses requests without the token, but Chroma's own port is open to
 * local users. That is reported (`mirador doctor`, the log) and described in docs/privacy.md.
 * `MIRADOR_CHROMA_ISOLATE=off` asks for that mode on purpose.
 *
 * The probe runs the very command the supervisor needs (`unshare … ip link set lo up`) once per
 * process, only when a server is started.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'

export const ISOLATE_ENV = 'MIRADOR_CHROMA_ISOLATE'

export type Isolation = { ok: true; prefix: string[]; ip: string } | { ok: false; reason: string }

const UNSHARE = ['--user', '--map-root-user', '--net', '--']
let probed: Promise<Isolation> | undefined

/** How the server can be isolated here (probed once per process). */
export function isolation(env: NodeJS.ProcessEnv): Promise<Isolation> {
  if (/^(0|off|no|false)$/i.test(env[ISOLATE_ENV]?.trim() ?? ''))
    return Promise.resolve({ ok: false, reason: `${ISOLATE_ENV}=${env[ISOLATE_ENV]} turned it off` })
  probed ??= probe(env)
  return probed
}

async function probe(env: NodeJS.ProcessEnv): Promise<Isolation> {
  if (process.platform !== 'linux')
    return { ok: false, reason: `network namespaces are Linux only (${process.platform})` }
  const unshare = which('unshare', env)
  const ip = which('ip', env)
  if (!unshare) return { ok: false, reason: 'the unshare command (util-linux) is not installed' }
  if (!ip) return { ok: false, reason: 'the ip command (iproute2) is not installed' }
  const failed = await new Promise<string | undefined>((resolve) => {
    execFile(unshare, [...UNSHARE, ip, 'link', 'set', 'lo', 'up'], { timeout: 5000 }, (err, _out, stderr) =>
      resolve(err ? (stderr.trim().split('\n').at(-1) ?? err.message) : undefined),
    )
  })
  if (failed !== undefined)
    return { ok: false, reason: `this system does not let a user make a private network (${failed})` }
  return { ok: true, prefix: [unshare, ...UNSHARE], ip }
}

/** `name` on PATH or in the system folders a user's PATH often lacks (ip lives in /sbin on some). */
function which(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = [...(env.PATH ?? '').split(path.delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin']
  for (const d of dirs) {
    if (!d) continue
    const f = path.join(d, name)
    if (existsSync(f)) return f
  }
  return undefined
}
