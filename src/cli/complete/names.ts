/**
 * `mirador __complete KIND`: the names a shell offers after TAB, one a line, read from files only
 * (no engine, no plugin code, no server, nothing written): chains, manifest models, tools and energy
 * profiles from the folders the commands search, sessions from their sealed files. Session names
 * are stored only inside files sealed with the memory key (their file names are keyed hashes), so
 * they are opened as `session ls` opens them; nothing is cached in plaintext for completion, and
 * without the key (memory off, a passphrase not in the environment, no sessions yet) none are
 * offered rather than a key being made.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { listYamlFiles } from '../../engine/config/folders.js'
import { listChains } from '../chain-files.js'
import { readNameKey } from '../chain-name.js'
import { chainDirs, configFiles, manifestFile, miradorHome, profileDirs, toolDirs } from '../paths.js'

export const KINDS = ['chain', 'model', 'tool', 'profile', 'session'] as const
export type Kind = (typeof KINDS)[number]

export interface Where {
  cwd: string
  env: NodeJS.ProcessEnv
}

function named(dirs: string[]): string[] {
  return listYamlFiles(dirs).map((f) => {
    try {
      return readNameKey(readFileSync(f.file, 'utf8'))?.name ?? f.name
    } catch {
      return f.name
    }
  })
}

async function yamlOf(file: string): Promise<unknown> {
  const { parse } = await import('yaml')
  try {
    return parse(readFileSync(file, 'utf8')) as unknown
  } catch {
    return undefined
  }
}

async function models(w: Where, home: string): Promise<string[]> {
  const file = manifestFile(w.cwd, home, w.env)
  const doc = file ? ((await yamlOf(file)) as { models?: unknown } | undefined) : undefined
  const m = doc?.models
  return m && typeof m === 'object' ? Object.keys(m) : []
}

/** memory off in the environment or a config file: sessions are not read (as the memory plugin reads none) */
async function memoryOff(w: Where, home: string): Promise<boolean> {
  const env = w.env.MIRADOR_MEMORY
  if (env !== undefined) return /^(0|false|no|off)$/i.test(env)
  for (const f of configFiles(w.cwd, home, undefined, w.env).filter((c) => existsSync(c))) {
    const m = ((await yamlOf(f)) as { memory?: unknown } | undefined)?.memory
    if (m !== undefined) return m === 'off' || m === false
  }
  return false
}

async function sessions(w: Where, home: string): Promise<string[]> {
  const dir = path.join(home, 'sessions')
  if (!existsSync(dir) || !readdirSync(dir).some((f) => f.endsWith('.session'))) return []
  if (await memoryOff(w, home)) return []
  const { keyPaths, loadCipher, PASSPHRASE_ENV } = await import('../../lib/crypto.js')
  // loadCipher makes a key (or a salt) it does not find: completion must never
  const keys = keyPaths(home)
  if (!existsSync(w.env[PASSPHRASE_ENV] ? keys.salt : keys.key)) return []
  const { SessionStore } = await import('../../plugins/memory/sessions.js')
  const store = new SessionStore(home, await loadCipher({ home, env: w.env }))
  return (await store.listSessions({ onUnreadable: () => {} })).map((s) => s.name)
}

export async function namesOf(kind: Kind, w: Where): Promise<string[]> {
  const home = miradorHome(w.env)
  const all =
    kind === 'chain'
      ? listChains(chainDirs(w.cwd, home)).map((c) => c.name)
      : kind === 'tool'
        ? named(toolDirs(w.cwd, home))
        : kind === 'profile'
          ? named(profileDirs(w.cwd, home))
          : kind === 'model'
            ? await models(w, home)
            : await sessions(w, home)
  return [...new Set(all)].sort()
}

/** The fast path's command: prints the names, or nothing (a completion must never print an error). */
export async function completeCommand(argv: string[], w: Where, out: NodeJS.WritableStream): Promise<number> {
  const kind = argv[0] as Kind
  if (!KINDS.includes(kind)) return 2
  try {
    const names = await namesOf(kind, w)
    if (names.length) out.write(names.join('\n') + '\n')
    return 0
  } catch {
    return 1
  }
}
