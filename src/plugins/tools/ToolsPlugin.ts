/**
 * Tools models can call, declared in tools/*.yaml and run in isolated-vm sandboxes in worker
 * processes. A stage lists its tools (`tools: [calculate]`); the plugin offers their definitions
 * on the `tools` hook, and on the `toolCall` hook validates each call's arguments against the
 * tool's parameter schema and runs it with the limits of its file, clamped to the user's policy,
 * and only the host functions (capabilities) it was granted.
 */
import { didYouMeanText } from '../../engine/config/index.js'
import type { PluginHost } from '../../engine/engine.js'
import { MiradorError } from '../../engine/errors.js'
import { builtinOptionsSchema, builtinStageKeys, validatePluginOptions } from '../../engine/plugin-options.js'
import type { StageContext, ToolCall, ToolOffer, ToolResult } from '../../engine/types.js'
import type { ToolsOptions } from './options.gen.js'
import { clampLimits, type ToolsPolicy } from './policy.js'
import { argumentErrors, definitionOf, loadTools, type Tool } from './registry.js'
import type { Capabilities, SandboxPool } from './sandbox/types.js'

const PLUGIN_NAME = 'ToolsPlugin'

export type { ToolsOptions as ToolsPluginOptions } from './options.gen.js'

type StageTools = { tools?: string[]; tool_rounds?: number }

export class ToolsPlugin {
  readonly name = PLUGIN_NAME
  readonly apiVersion = 1
  readonly policy: ToolsPolicy
  readonly poolSize: number
  #engine?: PluginHost
  #tools?: Promise<{ tools: Map<string, Tool>; errors: MiradorError[] }>
  #pool?: Promise<SandboxPool>

  constructor(options: ToolsOptions = {}) {
    const o = validatePluginOptions<Required<ToolsOptions>>(PLUGIN_NAME, builtinOptionsSchema('tools'), options)
    const { pool_size, ...policy } = o
    this.policy = policy
    this.poolSize = pool_size
  }

  apply(engine: PluginHost): void {
    this.#engine = engine
    engine.registerStageKeys(builtinStageKeys('tools'))
    engine.hooks.tools.tapPromise(PLUGIN_NAME, (offer, ctx) => this.#offer(offer, ctx))
    engine.hooks.toolCall.tapPromise(PLUGIN_NAME, (call, ctx) => this.#call(call, ctx))
  }

  /** the tool folders, most important first (project, user, shipped) */
  get dirs(): readonly string[] {
    return this.#engine?.settings.dirs.tools ?? []
  }

  /** Every problem of one tool file (schema, source file, parameters): what `tools validate` reports. */
  async check(file: string): Promise<MiradorError[]> {
    const { loadTool } = await import('./registry.js')
    try {
      await loadTool(file)
      return []
    } catch (err) {
      return [MiradorError.from(err, 'CONFIG_INVALID')]
    }
  }

  /** The declared tools, loaded once. */
  tools(): Promise<{ tools: Map<string, Tool>; errors: MiradorError[] }> {
    this.#tools ??= loadTools([...this.dirs])
    return this.#tools
  }

  async #offer(offer: ToolOffer, ctx: StageContext): Promise<ToolOffer> {
    const spec = ctx.spec as StageTools
    const names = spec.tools ?? []
    if (names.length === 0) return offer
    const { tools, errors } = await this.tools()
    const defs = []
    for (const name of names) {
      // SERVER-TOOL: a tool file's name has no '-'; the MCP plugin offers (or reports) these
      if (name.includes('-')) continue
      const tool = tools.get(name)
      if (tool) defs.push(definitionOf(tool))
      else {
        const broken = errors.find((e) => e.location?.file.includes(`${name}.y`))
        ctx.emit({
          type: 'error',
          stage: ctx.stage,
          code: 'TOOL_NOT_FOUND',
          message: broken
            ? `tool "${name}" cannot be loaded: ${broken.format()}`
            : `no tool named "${name}" (looked in ${this.dirs.join(', ')}); the stage runs without it.` +
              didYouMeanText(name, [...tools.keys()]),
        })
      }
    }
    return {
      tools: [...offer.tools, ...defs],
      maxRounds: Math.min(spec.tool_rounds ?? this.policy.max_rounds, this.policy.max_rounds),
    }
  }

  async #call(call: ToolCall, ctx: StageContext): Promise<ToolResult | undefined> {
    // a stage may call only the tools it lists; any other name is left to other plugins
    if (!((ctx.spec as StageTools).tools ?? []).includes(call.name)) return undefined
    const tool = (await this.tools()).tools.get(call.name)
    return tool ? this.run(tool, call.arguments) : undefined
  }

  /** Validates the arguments and runs the tool in a sandbox. Never throws. */
  async run(tool: Tool, args: unknown): Promise<ToolResult> {
    const t0 = performance.now()
    const ms = () => Math.round(performance.now() - t0)
    if (!tool.validate(args))
      return {
        ok: false,
        code: 'TOOL_INVALID',
        error: `the arguments do not match ${tool.name}'s parameters: ${argumentErrors(tool)}`,
        ms: ms(),
      }
    const host: Capabilities = {}
    for (const name of tool.capabilities) {
      const fn = this.#engine?.capability(name)
      host[name] =
        fn ??
        (async () =>
          Promise.reject(
            new MiradorError('USAGE', `${name} is not available: the plugin that provides it is not loaded`),
          ))
    }
    try {
      const pool = await this.pool()
      const r = await pool.run(
        {
          source: tool.source,
          filename: tool.sourceFile,
          args,
          limits: clampLimits(tool.declaredLimits, this.policy),
          capabilities: tool.capabilities,
        },
        host,
      )
      return r.ok ? { ok: true, value: r.value, ms: r.ms } : { ok: false, code: r.code, error: r.error, ms: r.ms }
    } catch (err) {
      const e = MiradorError.from(err, 'TOOL_CRASH')
      return { ok: false, code: e.code, error: e.message, ms: ms() }
    }
  }

  /** The sandbox workers, started on the first call (isolated-vm loads only in them). */
  pool(): Promise<SandboxPool> {
    this.#pool ??= import('./sandbox/index.js').then((m) => m.createSandboxPool({ size: this.poolSize }))
    return this.#pool
  }

  async close(): Promise<void> {
    if (this.#pool) await (await this.#pool).close()
  }
}
