/**
 * Wires Mirador together for a command: reads config (flags, environment, project, user,
 * defaults, in that order), creates the engine with the chain catalog, registers the built-in
 * runtimes and applies the built-in plugins, then the third-party plugins listed in config: their
 * code only for commands that run chains (`thirdParty: true`), and a project's only once approved
 * (plugin-approval.ts); other commands read only their manifests.
 */
import path from 'node:path'
import { loadConfigFile, locate, type MiradorConfig } from '../engine/config/index.js'
import { useConfigCache } from '../engine/config/cache.js'
import { Engine } from '../engine/engine.js'
import { MiradorError } from '../engine/errors.js'
import type { ConfiguredPlugin, MiradorPlugin } from '../engine/plugins.js'
import { EnergyPlugin } from '../plugins/energy/index.js'
import { FederationPlugin } from '../plugins/federation/index.js'
import { LearnerPlugin } from '../plugins/learner/LearnerPlugin.js'
import { MemoryPlugin } from '../plugins/memory/index.js'
import { ModelsPlugin } from '../plugins/models/index.js'
import { ToolsPlugin } from '../plugins/tools/index.js'
import { McpPlugin, type McpPluginOptions } from '../plugins/mcp/index.js'
import type { ProjectServer } from './mcp-approval.js'
import { folderCatalog } from './chain-catalog.js'
import { assertLoadAllowed } from '../plugin-store/policy.js'
import { createSandboxedPlugin } from '../sandbox/index.js'
import { approvalGate } from './plugin-approval.js'
import { chainDirs, configFiles, manifestFile, miradorHome, profileDirs, toolDirs } from './paths.js'
import { storeNodeModules } from '../plugin-store/paths.js'
import { registerBuiltinRuntimes } from './runtimes.js'

export interface SetupOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** --config */
  config?: string
  /** --offline */
  offline?: boolean
  /** --host: the Ollama host for models without their own */
  host?: string
  /** --no-memory (false): nothing of the run is kept or read back */
  memory?: boolean
  /** the command's other flags, for plugins that offer one (`show-memory`, `profile`) */
  flags?: Record<string, unknown>
  /**
   * run third-party plugins' code (commands that run chains); otherwise only their manifests are
   * read, for the stage keys and template variables they declare
   */
  thirdParty?: boolean
}

export interface Setup {
  engine: Engine
  /** the built-in model manager, unless config turned it off */
  models?: ModelsPlugin
  /** the built-in memory, unless config turned it off */
  memory?: MemoryPlugin
  /** the built-in tools, unless config turned them off */
  tools?: ToolsPlugin
  /** the built-in learner, unless config turned it off */
  learner?: LearnerPlugin
  /** the built-in energy profiles, unless config turned them off */
  energy?: EnergyPlugin
  /** federation (the community prior, forgetting its state), unless config turned it off */
  federation?: FederationPlugin
  /** tools of the MCP servers in config (`mcp:`), unless `builtins: { mcp: false }` */
  mcp?: McpPlugin
  config: MiradorConfig
  configFiles: string[]
  home: string
  cwd: string
  manifest?: string
  /** the `plugins:` entries of the config files (third-party plugins), as loaded */
  plugins: ConfiguredPlugin[]
}

function truthyEnv(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v)
}

/** `userConfig`: $MIRADOR_HOME/config.yaml, whose plugins are the user's own; the others' are the project's. */
export async function loadMergedConfig(
  files: string[],
  userConfig?: string,
): Promise<{ config: MiradorConfig; plugins: ConfiguredPlugin[]; mcpProject: Map<string, ProjectServer> }> {
  const loaded = await Promise.all(files.map((f) => loadConfigFile<MiradorConfig>(f, 'config')))
  // lowest priority first, so later spreads win; plugins from every file are used
  const config: MiradorConfig = {}
  const plugins: ConfiguredPlugin[] = []
  // the MCP servers whose winning declaration is a project's: they start only once approved
  const mcpProject = new Map<string, ProjectServer>()
  for (const l of [...loaded].reverse()) {
    const v = l.value
    for (const [name, settings] of Object.entries((v.mcp as McpPluginOptions | undefined)?.servers ?? {})) {
      if (l.file === userConfig) mcpProject.delete(name)
      else mcpProject.set(name, { file: l.file, settings })
    }
    Object.assign(config, v, {
      ...(v.ollama ? { ollama: { ...config.ollama, ...v.ollama } } : {}),
      ...(v.llamacpp ? { llamacpp: { ...config.llamacpp, ...v.llamacpp } } : {}),
      ...(v.builtins ? { builtins: { ...config.builtins, ...v.builtins } } : {}),
      ...(v.mcp ? { mcp: mergeMcp(config.mcp, v.mcp) } : {}),
    })
    for (const [i, entry] of (v.plugins ?? []).entries()) {
      const at = () => locate(l, typeof entry === 'string' ? ['plugins', i] : ['plugins', i, 'name'])
      plugins.push({ entry, baseDir: path.dirname(l.file), at, project: l.file !== userConfig })
    }
  }
  delete config.plugins
  return { config, plugins, mcpProject }
}

/** `mcp:` of a file over a lower one's: the servers of both, a name in the higher file winning */
function mergeMcp(lower: MiradorConfig['mcp'], higher: NonNullable<MiradorConfig['mcp']>): MiradorConfig['mcp'] {
  const servers = { ...(lower as McpPluginOptions | undefined)?.servers, ...(higher as McpPluginOptions).servers }
  return { ...lower, ...higher, servers }
}

type Builtins = NonNullable<MiradorConfig['builtins']>

/**
 * Applies a built-in plugin unless its `builtins:` setting is false; a map there is its options
 * (already checked against its schema, with positions, when the config file was loaded). Options
 * it refuses are reported by name like any plugin's, and Mirador goes on without it.
 */
function builtin<P extends MiradorPlugin>(
  engine: Engine,
  setting: Builtins[keyof Builtins],
  make: (options: Record<string, unknown>) => P,
): P | undefined {
  if (setting === false) return undefined
  try {
    const plugin = make(typeof setting === 'object' ? setting : {})
    return engine.use(plugin) ? plugin : undefined
  } catch (err) {
    engine.pluginErrors.push(MiradorError.from(err, 'PLUGIN_OPTIONS'))
    return undefined
  }
}

export async function setup(options: SetupOptions = {}): Promise<Setup> {
  const env = options.env ?? process.env
  const cwd = path.resolve(options.cwd ?? process.cwd())
  const home = miradorHome(env)
  // files validated once are not parsed or validated again while unchanged (engine/config/cache.ts)
  useConfigCache(path.join(home, 'cache', 'config'))
  const files = configFiles(cwd, home, options.config, env)
  const { config, plugins, mcpProject } = await loadMergedConfig(files, path.join(home, 'config.yaml'))
  for (const p of plugins) p.nodeModules = [storeNodeModules(home)]
  // the one place OLLAMA_HOST is read: the flag, then the environment, then config
  const host = options.host ?? env.OLLAMA_HOST
  if (host) config.ollama = { ...config.ollama, host }
  const offline = options.offline === true || truthyEnv(env.MIRADOR_OFFLINE) || config.offline === true
  // flag, then environment, then config: memory is on unless one of them turns it off
  const memory =
    options.memory ??
    (env.MIRADOR_MEMORY !== undefined
      ? !/^(0|false|no|off)$/i.test(env.MIRADOR_MEMORY)
      : config.memory !== 'off' && config.memory !== false)
  const manifest = manifestFile(cwd, home, env)
  const dirs = { chains: chainDirs(cwd, home), tools: toolDirs(cwd, home), profiles: profileDirs(cwd, home) }
  const engine = new Engine({
    cwd,
    home,
    offline,
    memory,
    config,
    env,
    flags: options.flags ?? {},
    dirs,
    ...(manifest ? { manifest } : {}),
    catalog: folderCatalog(dirs.chains, cwd),
  })
  registerBuiltinRuntimes(engine)
  // built-in plugins, each of which `builtins: { name: false }` in config turns off
  const b = config.builtins ?? {}
  const models = builtin(engine, b.models, (o) => new ModelsPlugin(o))
  const memoryPlugin = builtin(engine, b.memory, (o) => new MemoryPlugin(o))
  const tools = builtin(engine, b.tools, (o) => new ToolsPlugin(o))
  const learner = builtin(engine, b.learner, (o) => new LearnerPlugin(o))
  const energy = builtin(engine, b.energy, (o) => new EnergyPlugin(o))
  // always on, so that `memory forget --all` also removes what a half-made `federation init` left;
  // it reads nothing until a route asks for priors (then prior.json, absent outside a group)
  const federation = builtin(engine, b.federation, (o) => new FederationPlugin(o))
  const beforeStart = async (server: string) =>
    (await import('./mcp-approval.js')).mcpApprovalGate(home, mcpProject)(server)
  const mcp = builtin(engine, b.mcp === false ? false : (config.mcp ?? {}), (o) => new McpPlugin(o, { beforeStart }))
  const approval = approvalGate(home)
  await engine.useConfigured(plugins, {
    code: options.thirdParty === true,
    sandbox: createSandboxedPlugin,
    // the user's deny list first: a denied plugin is not even offered for approval
    approve: (plugin, loaded) => {
      assertLoadAllowed(loaded.name, home)
      return approval(plugin, loaded)
    },
  })
  return {
    engine,
    ...(models ? { models } : {}),
    ...(memoryPlugin ? { memory: memoryPlugin } : {}),
    ...(tools ? { tools } : {}),
    ...(learner ? { learner } : {}),
    ...(energy ? { energy } : {}),
    ...(federation ? { federation } : {}),
    ...(mcp ? { mcp } : {}),
    config,
    configFiles: files,
    home,
    cwd,
    ...(manifest ? { manifest } : {}),
    plugins,
  }
}
