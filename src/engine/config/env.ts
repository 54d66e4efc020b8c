/**
 * `${VAR}` references in config strings (e.g. a manifest's `file: "${MIRADOR_GGUF}"`).
 *
 * Syntax: `${NAME}` is replaced by the environment variable NAME (letters, digits and _, not
 * starting with a digit); `${NAME:-fallback}` uses `fallback` when NAME is unset or empty; `$$`
 * is a literal `$`. A `$` followed by anything else is kept as is. Values are not expanded again.
 */
import { isAbsolute, dirname, resolve } from 'node:path'
import { MiradorError } from '../errors.js'
import { locate } from './locate.js'
import type { Loaded, SourceLocation } from './types.js'

const REF = /\$\$|\$\{([^}]*)\}|\$\{/g
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Replaces `${VAR}` references with values from `env` (default `process.env`). A missing variable
 * is a CONFIG_INVALID error naming it.
 */
export function expandEnv(s: string, env: NodeJS.ProcessEnv = process.env, where?: SourceLocation): string {
  return s.replace(REF, (match: string, body: string | undefined) => {
    if (match === '$$') return '$'
    const at = where ? { location: where } : {}
    if (body === undefined) {
      throw new MiradorError(
        'CONFIG_INVALID',
        `unclosed \${ in ${JSON.stringify(s)}. Write \${NAME} (or $$ for a literal $).`,
        at,
      )
    }
    const sep = body.indexOf(':-')
    const name = sep >= 0 ? body.slice(0, sep) : body
    if (!NAME.test(name)) {
      throw new MiradorError(
        'CONFIG_INVALID',
        `\${${body}} is not a valid environment variable reference. ` +
          'Write ${NAME} with NAME made of letters, digits and _.',
        { ...at, details: { variable: name } },
      )
    }
    const value = env[name]
    if (sep >= 0) return value === undefined || value === '' ? body.slice(sep + 2) : value
    if (value === undefined) {
      throw new MiradorError(
        'CONFIG_INVALID',
        `environment variable ${name} is not set (used as \${${name}} in ${JSON.stringify(s)}). ` +
          `Set it (export ${name}=…) or write the value directly.`,
        { ...at, details: { variable: name } },
      )
    }
    return value
  })
}

/** A path-valued key of a manifest entry, resolved, and where it came from (for messages). */
export interface ManifestPath {
  /** absolute */
  path: string
  /** the variable the value starts with, when it came from the environment (then `base` is the working folder) */
  variable?: string
  /** the text before resolving, variables expanded */
  value: string
  /** the folder a relative value was resolved from */
  base: string
  location: SourceLocation
}

/** The variable a value starts with (`${NAME}…`), when the environment gives it a non-empty value. */
function leadingVariable(raw: string, env: NodeJS.ProcessEnv): string | undefined {
  const name = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/.exec(raw)?.[1]
  return name && env[name] ? name : undefined
}

/**
 * A path-valued key of a manifest entry (`base` of a llamacpp entry, `file` or `lora`, or `lora.file` of a pinned
 * adapter), with `${VAR}` expanded and made absolute. A path written in the manifest is relative to the manifest's
 * folder; one that starts with a variable's value came from the user's shell, so it is relative to the working folder
 * `cwd`, as any path typed there.
 * Returns undefined when the entry has no such key.
 */
export function manifestPath(
  loaded: Loaded<{
    models?: Record<string, { base?: string; file?: string; lora?: string | { file: string } } | undefined>
  }>,
  model: string,
  key: 'base' | 'file' | 'lora' = 'file',
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ManifestPath | undefined {
  const entry = loaded.value.models?.[model]
  const given = entry?.[key]
  // a pinned adapter is { file, sha256 }
  const pinned = typeof given === 'object' && given !== null
  const raw = pinned ? given.file : given
  if (typeof raw !== 'string') return undefined
  const location = locate(loaded, pinned ? ['models', model, key, 'file'] : ['models', model, key])
  const value = expandEnv(raw, env, location)
  const variable = leadingVariable(raw, env)
  const base = variable ? resolve(cwd) : dirname(resolve(loaded.file))
  return {
    path: isAbsolute(value) ? value : resolve(base, value),
    value,
    base,
    location,
    ...(variable ? { variable } : {}),
  }
}

/** manifestPath's path alone. */
export function resolveManifestPath(
  loaded: Parameters<typeof manifestPath>[0],
  model: string,
  key: 'base' | 'file' | 'lora' = 'file',
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): string | undefined {
  return manifestPath(loaded, model, key, env, cwd)?.path
}
