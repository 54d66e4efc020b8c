import { checkMemory, type MemoryReport } from '../cli/doctor/memory.js'
import { checkThirdParty, type ThirdPartyReport } from '../cli/doctor/plugins.js'
import { checkSandbox, type SandboxReport } from '../cli/doctor/sandbox.js'
import { checkServing, type ServingReport } from '../cli/doctor/serving.js'
import { setup } from '../cli/setup.js'
import { inventory } from '../plugins/models/inventory.js'
import { optionalFailure } from '../engine/plugins.js'
import type { RuntimeStatus } from '../engine/runtime.js'
import { MiradorCommand } from './base.js'

export interface DoctorReport {
  ok: boolean
  home: string
  config: string[]
  manifest: string | null
  runtimes: RuntimeStatus[]
  /** what chains run on here: Ollama, the embedded model the manifest falls back to, or neither */
  serving: ServingReport
  models: {
    name: string
    runtime: string
    model: string
    where: string
    present: boolean
    /** not present, and `models pull NAME` downloads it */
    downloadable?: boolean
    detail: string
  }[]
  /** failed: `optional` ones (`optional: true` in config) do not stop runs, so they do not fail the check */
  plugins: {
    loaded: string[]
    failed: { code: string; message: string; optional: boolean }[]
    /** the config's third-party plugins: how they would run, and the sandbox's network barrier here */
    thirdParty: ThirdPartyReport
  }
  memory: MemoryReport
  /** the tool sandbox: isolated-vm in a worker process, started, used once and stopped */
  sandbox: SandboxReport
}

export default class Doctor extends MiradorCommand {
  static summary =
    'Check that Mirador can run: Ollama reachable, manifest models present, runtimes loading, plugins applied, ' +
    'the memory store, the tool sandbox.'
  static description =
    'Checks every Ollama host the config and manifest name, what chains will run on (Ollama; the embedded model ' +
    "the manifest's entries fall back to when Ollama does not answer; or neither, and what to do), every model of " +
    'models/manifest.yaml, the embedded llama.cpp runtime, and the plugins in config (third-party ones by their ' +
    'manifests: doctor runs none of their code and starts no sandbox; it counts them as trusted, sandboxed or ' +
    'not approved yet, and says which network barrier a sandbox gets here: a network namespace and the JS ' +
    'barrier, or the JS barrier only). ' +
    'Reports the memory store (off; the server CHROMA_URL names, ' +
    'and whether it answers; or whether the local memory server is running for this $MIRADOR_HOME, where, its ' +
    'pids and idle timeout; doctor never starts one), and whether tools can run: a sandbox worker process is ' +
    'started, loads isolated-vm, runs one call and is stopped, and the time is shown. Exits with status 1 when ' +
    'something needs fixing, and says how.'
  static examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --json',
    'OLLAMA_HOST=http://studio.local:11434 <%= config.bin %> doctor',
  ]

  async run(): Promise<DoctorReport> {
    const { flags } = await this.parse(Doctor)
    const s = await setup({ ...(flags.config ? { config: flags.config } : {}) })
    // the sandbox worker runs beside the runtime checks; it is stopped before the report
    const sandbox = checkSandbox({ plugin: s.tools !== undefined })
    const thirdParty = checkThirdParty(s.plugins, s.home)
    const memory = checkMemory({
      plugin: s.memory !== undefined,
      ...(s.memory && {
        embedder: {
          active: s.memory.embedder().id,
          configured: s.memory.configuredEmbedder().id,
          ...(s.memory.fallbackReason() !== undefined && { fallback: s.memory.fallbackReason()! }),
        },
      }),
      enabled: s.engine.settings.memory,
      home: s.home,
      env: s.engine.settings.env,
    })
    // one check per runtime instance: the engine shares an instance between equal settings
    const statuses = new Map<object, Promise<RuntimeStatus>>()
    const statusOf = (runtime: string, settings: Record<string, unknown> = {}): Promise<RuntimeStatus> => {
      if (!s.engine.hasRuntime(runtime)) {
        return Promise.resolve({ runtime, ok: false, where: '-', detail: `no plugin provides runtime "${runtime}"` })
      }
      const instance = s.engine.runtime(runtime, settings)
      if (!statuses.has(instance)) statuses.set(instance, instance.status())
      return statuses.get(instance)!
    }
    // every built-in runtime is checked, used by the manifest or not
    statusOf('ollama')
    statusOf('llamacpp')
    const models: DoctorReport['models'] = []
    if (s.models) {
      const resolved = new Map(
        (await s.models.entries()).flatMap((e) => (e.resolved ? [[e.name, e.resolved] as const] : [])),
      )
      for (const m of await inventory(s.models)) {
        const r = resolved.get(m.name)
        const where = r?.runtime === 'ollama' ? (await statusOf('ollama', r.settings)).where : 'this machine'
        if (r) statusOf(r.runtime, r.settings)
        models.push({
          name: m.name,
          runtime: m.runtime,
          model: m.base,
          where,
          present: m.present,
          ...(m.downloadable ? { downloadable: true } : {}),
          detail: m.detail,
        })
      }
    }
    const serving = await checkServing(s.models, (settings) => statusOf('ollama', settings))
    // running on the embedded model is a working set-up, not a failure, while Ollama is away
    const embedded = serving.path === 'embedded'
    // one line per runtime and place: llama.cpp with other threads is the same library
    const runtimes = [
      ...new Map((await Promise.all(statuses.values())).map((r) => [`${r.runtime} ${r.where}`, r])).values(),
    ]
    const [memoryReport, sandboxReport, thirdPartyReport] = await Promise.all([memory, sandbox, thirdParty])
    const report: DoctorReport = {
      ok:
        serving.ok &&
        runtimes.every((r) => r.ok || (embedded && r.runtime === 'ollama')) &&
        models.every((m) => m.present || m.downloadable || (embedded && m.runtime === 'ollama')) &&
        s.engine.pluginErrors.every(optionalFailure) &&
        memoryReport.ok &&
        sandboxReport.ok,
      home: s.home,
      config: s.configFiles,
      manifest: s.manifest ?? null,
      runtimes,
      serving,
      models,
      plugins: {
        loaded: s.engine.plugins,
        failed: s.engine.pluginErrors.map((e) => ({ code: e.code, message: e.format(), optional: optionalFailure(e) })),
        thirdParty: thirdPartyReport,
      },
      memory: memoryReport,
      sandbox: sandboxReport,
    }
    if (!this.jsonEnabled()) {
      const mark = (ok: boolean) => (ok ? '✓' : '✗')
      this.log(`home      ${report.home}`)
      this.log(`config    ${report.config.join(', ') || '(none: built-in defaults)'}`)
      this.log(`manifest  ${report.manifest ?? '(none: model names are Ollama tags)'}`)
      this.log('runtimes')
      for (const r of runtimes) this.log(`  ${mark(r.ok)} ${r.runtime.padEnd(9)} ${r.where}  ${r.detail}`)
      this.log('serving')
      this.log(`  ${mark(serving.ok)} ${serving.path.padEnd(9)} ${serving.detail}`)
      this.log('models')
      for (const m of models) {
        const sign = m.downloadable && !m.present ? '-' : mark(m.present)
        this.log(`  ${sign} ${m.name.padEnd(12)} ${m.runtime.padEnd(9)} ${m.model}  ${m.detail}`)
      }
      this.log('plugins')
      this.log(`  ✓ ${report.plugins.loaded.join(', ') || '(none)'}`)
      for (const f of report.plugins.failed) this.log(`  ${f.optional ? '!' : '✗'} ${f.code}: ${f.message}`)
      const t = thirdPartyReport
      this.log(
        `  ${t.unapproved ? '!' : '✓'} third-party ${t.configured}: ${t.trusted} trusted (in process), ` +
          `${t.sandboxed} sandboxed, ${t.unapproved} not approved`,
      )
      for (const d of t.unapprovedDirs) this.log(`      approve after reading it: mirador plugins approve ${d}`)
      this.log(
        `  ${t.network.barrier === 'namespace' ? '✓' : '!'} network     ${t.network.barrier}: ${t.network.detail}`,
      )
      this.log('memory')
      this.log(`  ${mark(memoryReport.ok)} ${memoryReport.state.padEnd(9)} ${memoryReport.detail}`)
      const e = memoryReport.embedder
      if (e) this.log(`  ${e.ok ? (e.active === e.configured ? '✓' : '!') : '✗'} embedder  ${e.detail}`)
      this.log('tools')
      this.log(`  ${mark(sandboxReport.ok)} sandbox   ${sandboxReport.detail}`)
    }
    // oclif prints the returned value for --json; the status says whether all was well
    if (!report.ok) process.exitCode = 1
    return report
  }
}
