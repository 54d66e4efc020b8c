/**
 * From a model name to what the manager needs: the runtime and its settings, the ModelSpec the
 * runtime prepares (base and adapters, paths resolved), the unit of memory it occupies, its size
 * and priority. A name the manifest lacks is an Ollama tag, used as it is.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import {
  locate,
  manifestPath,
  type Loaded,
  type ManifestEntry,
  type ManifestFile,
  type ManifestPath,
  type ManifestSource,
  type SourceLocation,
} from '../../engine/config/index.js'
import type { EngineSettings } from '../../engine/engine.js'
import { MiradorError } from '../../engine/errors.js'
import type { ModelSpec } from '../../engine/runtime.js'
import { nearManifestName } from './near-miss.js'

export interface ResolvedModel {
  /** the name stages use */
  name: string
  /** what events and summaries show: the Ollama tag, or the GGUF file's name */
  display: string
  runtime: string
  /** the model's own runtime settings (its host, threads, …), on top of Mirador's for that runtime */
  settings: Record<string, unknown>
  spec: ModelSpec
  /**
   * the unit of memory: models with the same key share one load. llama.cpp attaches adapters per
   * context, so every entry on one GGUF shares it; Ollama runs each derived model on its own.
   */
  key: string
  /** declared in the manifest (GB), when it is */
  sizeGb?: number
  priority: number
  entry?: ManifestEntry
  /** the model file on this machine (llama.cpp), and where its path came from */
  localFile?: ManifestPath
  /** the files Mirador checks before loading (models/verify.ts): the GGUF base, the adapter */
  files: ModelFile[]
  /** a name the manifest lacks but nearly has: the entry it is probably a typo of (near-miss.ts) */
  nearMiss?: string
  /** where `models pull` downloads the GGUF file from (llama.cpp entries with `source:`) */
  source?: ManifestSource
  /** the entry to run instead when this one's runtime does not answer */
  fallback?: string
}

/** A file a manifest entry names: what it is, where its path came from, and the sha256 pinned for it. */
export interface ModelFile {
  role: 'base' | 'adapter'
  at: ManifestPath
  /** the runtime loads it as GGUF (llama.cpp); Ollama adapters may also be safetensors or a folder */
  gguf: boolean
  sha256?: { value: string; location: SourceLocation }
}

export function entryOf(manifest: Loaded<ManifestFile> | undefined, name: string): ManifestEntry | undefined {
  const models = manifest?.value.models
  return models && Object.prototype.hasOwnProperty.call(models, name) ? models[name] : undefined
}

/** A path the manifest names, resolved, refused when it escapes the allowed folders. */
function adapterPath(
  manifest: Loaded<ManifestFile>,
  name: string,
  roots: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): ManifestPath {
  const at = manifestPath(manifest, name, 'lora', env, cwd)!
  const file = at.path
  const inside = roots.some((root) => {
    const rel = path.relative(path.resolve(root), file)
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
  })
  if (!inside) {
    throw new MiradorError(
      'CONFIG_INVALID',
      `models.${name}.lora: the adapter ${file} is outside the project and $MIRADOR_HOME. ` +
        `Move it under ${roots.join(' or ')}.`,
      {
        location: at.location,
        details: { key: 'lora' },
      },
    )
  }
  return at
}

/** A file of an entry, with the sha256 pinned for it (lowercased) and where that pin is written. */
function fileOf(
  manifest: Loaded<ManifestFile>,
  role: ModelFile['role'],
  at: ManifestPath,
  gguf: boolean,
  sha256: string | undefined,
  pinAt: string[],
): ModelFile {
  if (sha256 === undefined) return { role, at, gguf }
  return {
    role,
    at,
    gguf,
    sha256: { value: sha256.toLowerCase(), location: locate(manifest as Loaded<unknown>, pinAt) },
  }
}

/** Where a downloaded model lives when the entry does not say: $MIRADOR_HOME/models/FILE. */
function downloadedPath(
  manifest: Loaded<ManifestFile>,
  name: string,
  source: ManifestSource,
  home: string,
): ManifestPath {
  const base = path.join(home, 'models')
  return {
    path: path.join(base, source.hf.file),
    value: source.hf.file,
    base,
    location: locate(manifest as Loaded<unknown>, ['models', name, 'source', 'hf', 'file']),
  }
}

/** A manifest entry's own runtime settings: they win over config's for that runtime. */
function entrySettings(entry: ManifestEntry): Record<string, unknown> {
  if (entry.runtime === 'llamacpp') {
    return {
      ...(entry.threads !== undefined ? { threads: entry.threads } : {}),
      ...(entry.context_size !== undefined ? { contextSize: entry.context_size } : {}),
      ...(entry.chat_wrapper !== undefined ? { chatWrapper: entry.chat_wrapper } : {}),
    }
  }
  return entry.host !== undefined ? { host: entry.host } : {}
}

export function resolveModel(
  settings: Readonly<EngineSettings>,
  manifest: Loaded<ManifestFile> | undefined,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedModel {
  const entry = entryOf(manifest, name)
  const configHost = settings.config.ollama?.host ?? ''
  if (!entry || !manifest) {
    const nearMiss = nearManifestName(manifest, name)
    return {
      ...(nearMiss ? { nearMiss } : {}),
      name,
      display: name,
      runtime: 'ollama',
      settings: {},
      spec: { name, base: name },
      key: `ollama ${configHost} ${name}`,
      priority: 0,
      files: [],
    }
  }
  const s = entrySettings(entry)
  const lora = entry.lora ? adapterPath(manifest, name, [settings.cwd, settings.home], env, settings.cwd) : undefined
  const adapters = lora
    ? [{ file: lora.path, ...(entry.lora_scale !== undefined ? { scale: entry.lora_scale } : {}) }]
    : undefined
  const adapterPin = typeof entry.lora === 'object' ? entry.lora.sha256 : undefined
  const adapterFiles: ModelFile[] = lora
    ? [fileOf(manifest, 'adapter', lora, entry.runtime === 'llamacpp', adapterPin, ['models', name, 'lora', 'sha256'])]
    : []
  const common = {
    name,
    ...(entry.fallback !== undefined ? { fallback: entry.fallback } : {}),
    runtime: entry.runtime,
    settings: s,
    priority: entry.priority ?? 0,
    entry,
    files: adapterFiles,
    ...(entry.size_gb !== undefined ? { sizeGb: entry.size_gb } : {}),
  }
  const keepAlive = entry.keep_alive !== undefined ? { keepAlive: entry.keep_alive } : {}
  if (entry.runtime === 'llamacpp') {
    // ${VAR} is expanded now, so a missing variable is named with its manifest line
    const localFile =
      manifestPath(manifest, name, entry.base !== undefined ? 'base' : 'file', env, settings.cwd) ??
      downloadedPath(manifest, name, entry.source!, settings.home)
    const base = localFile.path
    return {
      ...common,
      display: path.basename(base),
      spec: { name, base, ...(adapters ? { adapters } : {}), ...keepAlive },
      key: `llamacpp ${base}`,
      localFile,
      ...(entry.source ? { source: entry.source } : {}),
      files: [fileOf(manifest, 'base', localFile, true, entry.sha256, ['models', name, 'sha256']), ...adapterFiles],
    }
  }
  const base = entry.base ?? name
  const adapterKey = adapters ? ` + ${adapters.map((a) => a.file).join(' + ')}` : ''
  return {
    ...common,
    display: adapters ? `${base}+${path.basename(adapters[0]!.file)}` : base,
    spec: { name, base, ...(adapters ? { adapters } : {}), ...keepAlive },
    key: `ollama ${entry.host ?? configHost} ${base}${adapterKey}`,
  }
}

/** Problems of a manifest beyond its schema (adapters outside the allowed folders), with positions. */
export function manifestProblems(
  settings: Readonly<EngineSettings>,
  manifest: Loaded<ManifestFile>,
  env: NodeJS.ProcessEnv = process.env,
): MiradorError[] {
  const out: MiradorError[] = []
  for (const name of Object.keys(manifest.value.models ?? {})) {
    try {
      resolveModel(settings, manifest, name, env)
    } catch (err) {
      // a variable unset here may be set where the chain runs; an escaping path never is right
      if (MiradorError.is(err) && err.details?.key === 'lora') out.push(err)
    }
    const fallback = fallbackProblem(manifest, name)
    if (fallback) out.push(fallback)
  }
  return out
}

/** An entry's `fallback:` that names no other entry (or one that falls back itself: one step only). */
export function fallbackProblem(manifest: Loaded<ManifestFile>, name: string): MiradorError | undefined {
  const to = entryOf(manifest, name)?.fallback
  if (to === undefined) return undefined
  const target = entryOf(manifest, to)
  const why =
    to === name
      ? 'names the entry itself'
      : !target
        ? 'names no entry of this manifest'
        : target.fallback !== undefined
          ? `names "${to}", which has a fallback of its own (one step only)`
          : undefined
  if (!why) return undefined
  return new MiradorError(
    'CONFIG_INVALID',
    `models.${name}.fallback: "${to}" ${why}. Name another entry, such as default, or remove the line.`,
    { location: locate(manifest as Loaded<unknown>, ['models', name, 'fallback']), details: { key: 'fallback' } },
  )
}

/**
 * MODEL_MISSING for a local model file that is not there, before any load is tried: a file is not
 * pulled, so the message says where the path came from and where it was looked for.
 */
export function missingLocalFile(r: ResolvedModel): MiradorError | undefined {
  const f = r.localFile
  if (!f || existsSync(f.path)) return undefined
  if (r.source)
    return new MiradorError(
      'MODEL_MISSING',
      `model "${r.name}" is not downloaded yet (${f.path}). Download it with \`mirador models pull ${r.name}\` ` +
        `(${r.source.hf.repo}, ${sizeText(r.source.size_bytes)}).`,
      { location: f.location, details: { model: r.name, file: f.path, pull: true } },
    )
  const relative = !path.isAbsolute(f.value)
  const from = f.variable
    ? ` ($${f.variable} is ${JSON.stringify(f.value)}${relative ? `, read from the working folder ${f.base}` : ''})`
    : relative
      ? ` (relative to the manifest's folder ${f.base})`
      : ''
  return new MiradorError(
    'MODEL_MISSING',
    `model "${r.name}": the GGUF file ${f.path} does not exist${from}. ` +
      'Check the path, or download the GGUF file there.',
    { location: f.location, details: { model: r.name, file: f.path } },
  )
}

/** A download's size as messages give it: "397.8 MB". */
export function sizeText(bytes: number | undefined): string {
  return bytes === undefined ? 'size unknown' : `${(bytes / 1e6).toFixed(1)} MB`
}
