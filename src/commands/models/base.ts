/** What the `models` commands share: the set-up model manager, or a clear error when it is off. */
import { setup, type Setup } from '../../cli/setup.js'
import { MiradorError } from '../../engine/errors.js'
import type { ModelsPlugin } from '../../plugins/models/index.js'

export async function modelsSetup(config?: string): Promise<Setup & { models: ModelsPlugin }> {
  const s = await setup(config ? { config } : {})
  if (!s.models)
    throw new MiradorError(
      'USAGE',
      'the models plugin is turned off (builtins: { models: false } in mirador.config.yaml)',
    )
  return s as Setup & { models: ModelsPlugin }
}

export function gb(bytes: number | null): string {
  return bytes === null
    ? '?'
    : bytes >= 1e9
      ? `${(bytes / 1e9).toFixed(2)} GB`
      : bytes >= 1e6
        ? `${(bytes / 1e6).toFixed(1)} MB`
        : `${(bytes / 1e3).toFixed(1)} KB`
}
