/** `chain validate`: template variables nothing fills, with the position of the prompt that uses them. */
import { locate, type ChainFile, type Loaded } from '../engine/config/index.js'
import { MiradorError } from '../engine/errors.js'
import { unknownVars, unknownVarsWarning } from '../engine/template.js'

export function templateWarnings(chain: Loaded<ChainFile>, declared: ReadonlySet<string>): MiradorError[] {
  const out: MiradorError[] = []
  for (const [stage, spec] of Object.entries(chain.value.stages ?? {})) {
    for (const key of ['prompt', 'system'] as const) {
      const text = spec[key]
      if (text === undefined) continue
      const names = unknownVars(text, {}, declared)
      if (!names.length) continue
      out.push(
        new MiradorError('TEMPLATE', unknownVarsWarning(stage, names).message, {
          location: locate(chain as Loaded<unknown>, ['stages', stage, key]),
          details: { stage, variables: names },
        }),
      )
    }
  }
  return out
}
