/**
 * What a command that runs chains (`chain run`, `ask`, `chat`) asks of setup from its flags: the
 * same --config, --offline, --host and --no-memory handling, its flags for the plugins that offer
 * one, and third-party plugins' code run.
 */
import type { SetupOptions } from './setup.js'

export interface RunFlags {
  config?: string
  offline?: boolean
  host?: string
  memory?: boolean
}

export function runSetupOptions(input: RunFlags, io: { cwd: string; env: NodeJS.ProcessEnv }): SetupOptions {
  return {
    cwd: io.cwd,
    env: io.env,
    ...(input.config ? { config: input.config } : {}),
    ...(input.offline ? { offline: true } : {}),
    ...(input.host ? { host: input.host } : {}),
    ...(input.memory === false ? { memory: false } : {}),
    flags: { ...input },
    thirdParty: true,
  }
}
