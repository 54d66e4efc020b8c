/**
 * The engine a plugin was applied to. Plugins keep it for what commands ask of them later (memory
 * search, the learner's journal); using it before `apply` is a bug, said as one.
 */
import type { PluginHost } from '../engine/engine.js'
import { MiradorError } from '../engine/errors.js'

export class AppliedTo {
  #host?: PluginHost

  constructor(readonly plugin: string) {}

  set(host: PluginHost): void {
    this.#host = host
  }

  /** the engine, or undefined before apply() */
  get maybe(): PluginHost | undefined {
    return this.#host
  }

  get host(): PluginHost {
    if (!this.#host) throw new MiradorError('INTERNAL', `${this.plugin} used before apply()`)
    return this.#host
  }
}
