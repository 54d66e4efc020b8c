/**
 * Public entry points: read a Mirador YAML file safely, validate it against its schema, and hand
 * back the plain value with the Document and LineCounter (to locate nodes for later errors and to
 * rewrite the file with comments intact).
 *
 * - `loadConfigFile` / `loadConfigText` throw the first problem (by position) as a MiradorError.
 * - `validateConfigFile` reports all problems (for `mirador chain validate`).
 *
 * Defaults applied to the value after validation: a chain, profile or tool without `name` gets
 * its file name (without .yaml/.yml); if that file name is not a valid name, it is an error
 * asking for a `name:` key.
 */
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import type { Document, LineCounter } from 'yaml'
import { yaml } from './yaml-lib.js'
import { MiradorError } from '../errors.js'
import { cacheKey, readCached, writeCached } from './cache.js'
import { LIMITS } from './limits.js'
import { offsetToLocation } from './locate.js'
import { toMiradorErrors } from './schema-errors.js'
import type { ConfigKind, Loaded, LoadOptions, ValidationResult } from './types.js'
import { getSchema, getValidator } from './validate.js'
import { tooLarge } from './yaml-errors.js'
import { parseYamlSafe } from './yaml-safe.js'
import { decodeUtf8 } from './yaml-text.js'

const NAMED_KINDS: ReadonlySet<ConfigKind> = new Set(['chain', 'profile', 'tool'])

const EXAMPLE: Record<ConfigKind, string> = {
  chain: 'a chain is a map with at least `stages:`',
  manifest: 'a manifest is a map with `models:`',
  config: 'a config file is a map of settings such as `ollama:` or `plugins:`',
  profile: 'a profile is a map of settings such as `when:` and `substitute:`',
  tool: 'a tool is a map with `description:`, `parameters:` and `source:`',
  'federation-group': 'a group file is a map with `group:`, `exchange:`, `vocabulary:`, `privacy:` and `members:`',
}

interface Outcome<T> {
  loaded?: Loaded<T>
  value?: unknown
  errors: MiradorError[]
}

function notFound(file: string, cause: unknown): MiradorError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  const why =
    code === 'ENOENT' || code === 'ENOTDIR'
      ? 'does not exist. Check the path.'
      : code === 'EISDIR'
        ? 'is a folder, not a file.'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read (permission denied). Check its permissions.'
          : `cannot be read (${code ?? (cause instanceof Error ? cause.message : String(cause))}).`
  return new MiradorError('CONFIG_NOT_FOUND', `${file} ${why}`, { cause, details: { file, errno: code } })
}

/** Reads at most LIMITS.maxBytes, checking the size with fstat before reading. */
export async function readConfigText(file: string): Promise<string> {
  let handle
  try {
    // non-blocking: opening a FIFO for reading would otherwise wait for a writer forever
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch (cause) {
    throw notFound(file, cause)
  }
  try {
    const st = await handle.stat()
    if (st.isDirectory()) throw notFound(file, Object.assign(new Error('EISDIR'), { code: 'EISDIR' }))
    if (!st.isFile()) {
      throw new MiradorError('CONFIG_NOT_FOUND', `${file} is not a regular file. Point Mirador at a YAML file.`, {
        details: { file },
      })
    }
    if (st.size > LIMITS.maxBytes) throw tooLarge(file, st.size)
    // read one byte more than allowed, in case the file grew since stat
    const buf = Buffer.alloc(Math.min(st.size, LIMITS.maxBytes) + 1)
    let n = 0
    while (n < buf.length) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n)
      if (bytesRead === 0) break
      n += bytesRead
    }
    if (n > LIMITS.maxBytes) throw tooLarge(file, n)
    return decodeUtf8(buf.subarray(0, n), file)
  } catch (cause) {
    if (cause instanceof MiradorError) throw cause
    throw notFound(file, cause)
  } finally {
    await handle.close()
  }
}

function defaultName(file: string): string {
  return basename(file).replace(/\.ya?ml$/i, '')
}

function processText<T>(text: string, file: string, kind: ConfigKind, opts: LoadOptions): Outcome<T> {
  const parsed = parseYamlSafe(text, file)
  if (parsed.errors.length > 0 || !parsed.doc) return { errors: parsed.errors }
  const { doc, lineCounter } = parsed
  const value = parsed.value
  const at = (offset: number) => offsetToLocation(file, lineCounter, offset)

  if (value === null || value === undefined) {
    return {
      errors: [
        new MiradorError('CONFIG_INVALID', `is empty: ${EXAMPLE[kind]}.`, {
          location: { file, line: 1, column: 1 },
          details: { kind },
        }),
      ],
    }
  }
  if (!yaml().isMap(doc.contents) || typeof value !== 'object' || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'a list' : 'a single value'
    return {
      value,
      errors: [
        new MiradorError('CONFIG_INVALID', `must be a map of keys, not ${got}: ${EXAMPLE[kind]}.`, {
          location: at(doc.contents?.range?.[0] ?? 0),
          details: { kind },
        }),
      ],
    }
  }

  const validate = getValidator(kind, kind === 'chain' ? opts.extraStageProperties : undefined)
  const loaded = { file, value, doc: doc as Document, lineCounter: lineCounter as LineCounter }
  if (!validate(value)) {
    return { value, errors: toMiradorErrors(validate.errors ?? [], loaded) }
  }

  const obj = value as Record<string, unknown>
  if (NAMED_KINDS.has(kind) && obj.name === undefined) {
    const name = defaultName(file)
    const nameSchema = (getSchema(kind).properties as Record<string, { pattern: string; 'x-hint'?: string }>).name!
    if (!new RegExp(nameSchema.pattern, 'u').test(name)) {
      return {
        value,
        errors: [
          new MiradorError(
            'CONFIG_INVALID',
            `no name: key, and the file name ${JSON.stringify(name)} is not a valid ${kind} name ` +
              `(${nameSchema['x-hint'] ?? nameSchema.pattern}). Add a name: key or rename the file.`,
            { location: at(doc.contents.range?.[0] ?? 0), details: { key: 'name', kind } },
          ),
        ],
      }
    }
    obj.name = name
  }
  return { loaded: loaded as Loaded<T>, value, errors: [] }
}

/** A file validated before (cache.ts): its value now, its Document parsed only if someone asks. */
function fromCache<T>(file: string, text: string, value: unknown): Loaded<T> {
  let parsed: ReturnType<typeof parseYamlSafe> | undefined
  const get = () => (parsed ??= parseYamlSafe(text, file))
  return {
    file,
    value: value as T,
    get doc() {
      return get().doc as Document
    },
    get lineCounter() {
      return get().lineCounter as LineCounter
    },
  }
}

/** Loads and validates YAML text (sync). Throws the first problem as a MiradorError. */
export function loadConfigText<T>(text: string, file: string, kind: ConfigKind, opts: LoadOptions = {}): Loaded<T> {
  const key = cacheKey(kind, file, text, kind === 'chain' ? opts.extraStageProperties : undefined)
  const hit = readCached(key)
  if (hit) return fromCache<T>(file, text, hit.value)
  const out = processText<T>(text, file, kind, opts)
  if (out.errors.length > 0 || !out.loaded)
    throw out.errors[0] ?? new MiradorError('INTERNAL', `${file}: could not be loaded`)
  writeCached(key, out.loaded.value)
  return out.loaded
}

/** Reads, loads and validates a YAML file. Throws the first problem as a MiradorError. */
export async function loadConfigFile<T>(file: string, kind: ConfigKind, opts: LoadOptions = {}): Promise<Loaded<T>> {
  const text = await readConfigText(file)
  return loadConfigText<T>(text, file, kind, opts)
}

/** Reads and validates a YAML file, reporting every problem found instead of throwing. */
export async function validateConfigFile(
  file: string,
  kind: ConfigKind,
  opts: LoadOptions = {},
): Promise<ValidationResult> {
  let text: string
  try {
    text = await readConfigText(file)
  } catch (e) {
    return { ok: false, errors: [MiradorError.from(e, 'CONFIG_NOT_FOUND')] }
  }
  const out = processText(text, file, kind, opts)
  return {
    ok: out.errors.length === 0,
    errors: out.errors,
    ...(out.loaded ? { value: out.loaded.value } : out.value !== undefined ? { value: out.value } : {}),
  }
}
