/** Builds oclif args and flags from the plain command specs in src/cli/spec.ts. */
import { Args, Flags, type Interfaces } from '@oclif/core'
import type { ArgSpec, FlagSpec } from '../cli/spec.js'

export function toOclifFlags(specs: Record<string, FlagSpec>): Interfaces.FlagInput {
  const out: Interfaces.FlagInput = {}
  for (const [name, f] of Object.entries(specs)) {
    const common = {
      description: f.description,
      ...(f.char ? { char: f.char as 'a' } : {}),
      ...(f.helpValue ? { helpValue: f.helpValue } : {}),
    }
    out[name] =
      f.type === 'boolean'
        ? Flags.boolean({
            ...common,
            ...(f.allowNo ? { allowNo: true } : {}),
            ...(typeof f.default === 'boolean' ? { default: f.default } : {}),
          })
        : f.multiple
          ? Flags.string({ ...common, multiple: true })
          : Flags.string({ ...common, ...(typeof f.default === 'string' ? { default: f.default } : {}) })
  }
  return out
}

export function toOclifArgs(specs: ArgSpec[]): Interfaces.ArgInput {
  const out: Interfaces.ArgInput = {}
  for (const a of specs) out[a.name] = Args.string({ description: a.description, required: a.required })
  return out
}
