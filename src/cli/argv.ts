/** Parses argv against a CommandSpec with node:util, for the fast path (no @oclif/core). */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { MiradorError } from '../engine/errors.js'
import type { CommandSpec } from './spec.js'

export function parseWithSpec(
  spec: CommandSpec,
  argv: string[],
): { args: Record<string, string | undefined>; flags: Record<string, unknown> } {
  const options: NonNullable<ParseArgsConfig['options']> = {}
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = { type: f.type, ...(f.char ? { short: f.char } : {}), ...(f.multiple ? { multiple: true } : {}) }
    if (f.allowNo) options[`no-${name}`] = { type: 'boolean' }
  }
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new MiradorError('USAGE', `${err instanceof Error ? err.message : String(err)}. See --help.`)
  }
  const flags: Record<string, unknown> = {}
  for (const [name, f] of Object.entries(spec.flags)) {
    const v = (parsed.values as Record<string, unknown>)[name]
    flags[name] = (parsed.values as Record<string, unknown>)[`no-${name}`] ? false : (v ?? f.default)
  }
  if (parsed.positionals.length > spec.args.length) {
    throw new MiradorError(
      'USAGE',
      `unexpected argument "${parsed.positionals[spec.args.length]}" (put a query with spaces in quotes). See --help.`,
    )
  }
  const args: Record<string, string | undefined> = {}
  spec.args.forEach((a, i) => {
    args[a.name] = parsed.positionals[i]
    if (a.required && args[a.name] === undefined)
      throw new MiradorError('USAGE', `missing ${a.name.toUpperCase()}: ${a.description}. See --help.`)
  })
  return { args, flags }
}
