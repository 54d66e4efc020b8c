/**
 * What the manifest's models are on disk and in memory, for `models ls` and `models du`: is the
 * base there (in Ollama's tags, or the GGUF file), is it loaded (Ollama's /api/ps), how big are
 * bases and adapters. Each runtime is asked once; an unreachable one is reported, not thrown.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../../engine/errors.js'
import type { Runtime, RuntimeStatus } from '../../engine/runtime.js'
import type { ModelsPlugin } from './ModelsPlugin.js'
import { sameTag } from './near-miss.js'
import { pullCommand } from './pull.js'
import { sizeText, type ResolvedModel } from './resolve.js'

export interface AdapterInfo {
  file: string
  bytes: number | null
  scale: number
}

export interface InventoryEntry {
  name: string
  runtime: string
  base: string
  /** bytes of the base on disk (GGUF file, or Ollama's model size), when known */
  baseBytes: number | null
  /** manifest's size_gb */
  sizeGb: number | null
  adapters: AdapterInfo[]
  present: boolean
  /** not present, but `models pull NAME` downloads it (an entry with `source:`) */
  downloadable?: boolean
  loaded: boolean
  priority: number
  detail: string
  error?: string
}

async function fileBytes(file: string): Promise<number | null> {
  return stat(file).then(
    (s) => (s.isFile() ? s.size : null),
    () => null,
  )
}

function ollamaSize(status: RuntimeStatus, tag: string): number | null {
  return status.sizes?.[tag] ?? status.sizes?.[`${tag}:latest`] ?? null
}

export async function inventory(models: ModelsPlugin): Promise<InventoryEntry[]> {
  const statuses = new Map<Runtime, Promise<RuntimeStatus>>()
  const loadedLists = new Map<Runtime, Promise<string[] | undefined>>()
  const once = <T>(map: Map<Runtime, Promise<T>>, rt: Runtime, make: () => Promise<T>) => {
    if (!map.has(rt)) map.set(rt, make())
    return map.get(rt)!
  }
  const out: InventoryEntry[] = []
  for (const { name, resolved, error } of await models.entries()) {
    if (!resolved) {
      out.push({
        name,
        runtime: '?',
        base: '?',
        baseBytes: null,
        sizeGb: null,
        adapters: [],
        present: false,
        loaded: false,
        priority: 0,
        detail: error!.format(),
        error: error!.code,
      })
      continue
    }
    out.push(
      await describe(
        models,
        resolved,
        (rt) => once(statuses, rt, () => rt.status()),
        (rt) =>
          once(loadedLists, rt, async () =>
            rt.listLoaded ? (await rt.listLoaded().catch(() => undefined))?.map((l) => l.model) : undefined,
          ),
      ),
    )
  }
  return out
}

async function describe(
  models: ModelsPlugin,
  r: ResolvedModel,
  statusOf: (rt: Runtime) => Promise<RuntimeStatus>,
  loadedOf: (rt: Runtime) => Promise<string[] | undefined>,
): Promise<InventoryEntry> {
  const adapters = await Promise.all(
    (r.spec.adapters ?? []).map(async (a) => ({ file: a.file, bytes: await fileBytes(a.file), scale: a.scale ?? 1 })),
  )
  const missingAdapter = adapters.find((a) => a.bytes === null)
  const common = { name: r.name, runtime: r.runtime, sizeGb: r.sizeGb ?? null, adapters, priority: r.priority }
  let runtime: Runtime
  try {
    runtime = models.runtime(r)
  } catch (err) {
    return {
      ...common,
      base: r.spec.base,
      baseBytes: null,
      present: false,
      loaded: false,
      detail: MiradorError.from(err).message,
    }
  }
  if (r.runtime === 'llamacpp') {
    const bytes = await fileBytes(r.spec.base)
    const size = r.source?.size_bytes ? ` (${sizeText(r.source.size_bytes)})` : ''
    return {
      ...common,
      base: r.spec.base,
      baseBytes: bytes,
      present: bytes !== null && !missingAdapter,
      ...(bytes === null && r.source ? { downloadable: true } : {}),
      // a GGUF lives in the process that uses it: a command's own process has none loaded
      loaded: false,
      detail:
        bytes === null
          ? r.source
            ? `not downloaded yet: \`${pullCommand(r.name)}\`${size}`
            : `GGUF file not found: ${r.spec.base}`
          : missingAdapter
            ? `adapter not found: ${missingAdapter.file}`
            : 'GGUF on disk (loaded inside the process that runs a chain)',
    }
  }
  const status = await statusOf(runtime)
  const loaded = (await loadedOf(runtime)) ?? []
  const tag = r.spec.base
  const present = !!status.models?.some((m) => sameTag(m, tag))
  const asLoaded = missingAdapter ? undefined : await runtime.preparedName?.(r.spec).catch(() => undefined)
  const isLoaded = loaded.some((m) => sameTag(m, asLoaded ?? tag))
  return {
    ...common,
    base: tag,
    baseBytes: ollamaSize(status, tag),
    present: present && !missingAdapter,
    loaded: isLoaded,
    detail: !status.ok
      ? `Ollama unreachable at ${status.where}`
      : missingAdapter
        ? `adapter not found: ${missingAdapter.file}`
        : present
          ? isLoaded
            ? 'loaded'
            : 'on disk'
          : `not pulled yet: \`ollama pull ${tag}\` or \`mirador models load ${r.name}\``,
  }
}

export interface DiskUsage {
  bases: { base: string; runtime: string; bytes: number | null; entries: string[] }[]
  adapters: { entry: string; file: string; bytes: number | null }[]
  /** every base once, plus every adapter */
  actualBytes: number
  /** as if each entry were a full copy of its base (a merged fine-tune) */
  fullCopiesBytes: number
  savedBytes: number
}

const GB = 1e9

/** Disk use of the manifest's models: each base counted once, adapters listed. */
export function diskUsage(entries: InventoryEntry[]): DiskUsage {
  const bases = new Map<string, DiskUsage['bases'][number]>()
  const adapters: DiskUsage['adapters'] = []
  let fullCopies = 0
  for (const e of entries) {
    if (e.error) continue
    const bytes = e.baseBytes ?? (e.sizeGb !== null ? Math.round(e.sizeGb * GB) : null)
    const key = `${e.runtime} ${e.base}`
    const b = bases.get(key) ?? {
      base: e.runtime === 'llamacpp' ? path.basename(e.base) : e.base,
      runtime: e.runtime,
      bytes,
      entries: [],
    }
    b.entries.push(e.name)
    bases.set(key, b)
    fullCopies += bytes ?? 0
    for (const a of e.adapters) adapters.push({ entry: e.name, file: a.file, bytes: a.bytes })
  }
  const actual =
    [...bases.values()].reduce((n, b) => n + (b.bytes ?? 0), 0) + adapters.reduce((n, a) => n + (a.bytes ?? 0), 0)
  return {
    bases: [...bases.values()],
    adapters,
    actualBytes: actual,
    fullCopiesBytes: fullCopies,
    savedBytes: Math.max(0, fullCopies - actual),
  }
}
