/**
 * A brute-force, in-memory MemoryStore for the memory benchmarks: exact cosine search over every
 * vector (a Float32Array matrix, one dot product per memory), no persistence, no encryption.
 * Recall quality does not depend on the store (any exact search gives the same neighbours), and
 * it gives a latency baseline to set the real store against. Like the Chroma store, a hit carries its
 * (here unit-length) vector, and it gives what an index of words over it needs (words.ts), so the
 * recall bench's word candidates come from the same StoreWords the memory service keeps.
 */
import type {
  MemoryFilter,
  MemoryMeta,
  MemoryRecord,
  MemoryStore,
  StoredMemory,
  StoredVector,
  VectorHit,
  WordIndexedStore,
} from '../src/plugins/memory/types.js'

export class InMemoryStore implements MemoryStore, WordIndexedStore {
  #dims = 0
  #matrix = new Float32Array(0)
  #rows: { id: string; text: string; meta: MemoryMeta }[] = []
  #index = new Map<string, number>()

  async add(records: MemoryRecord[]): Promise<void> {
    if (records.length === 0) return
    if (this.#dims === 0) this.#dims = records[0]!.embedding.length
    const d = this.#dims
    const need = (this.#rows.length + records.length) * d
    if (need > this.#matrix.length) {
      const grown = new Float32Array(Math.max(need, this.#matrix.length * 2))
      grown.set(this.#matrix)
      this.#matrix = grown
    }
    for (const r of records) {
      if (r.embedding.length !== d)
        throw new Error(`embedding of ${r.id} has ${r.embedding.length} dimensions, the store ${d}`)
      if (this.#index.has(r.id)) throw new Error(`duplicate id ${r.id}`)
      const row = this.#rows.length
      let norm = 0
      for (const x of r.embedding) norm += x * x
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0
      for (let j = 0; j < d; j++) this.#matrix[row * d + j] = r.embedding[j]! * inv
      this.#rows.push({ id: r.id, text: r.text, meta: { ...r.meta } })
      this.#index.set(r.id, row)
    }
  }

  async query(embedding: number[], k: number, filter?: { session?: string }): Promise<VectorHit[]> {
    const d = this.#dims
    const n = this.#rows.length
    if (n === 0 || k <= 0) return []
    let norm = 0
    for (const x of embedding) norm += x * x
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0
    const q = Float32Array.from(embedding, (x) => x * inv)
    // keep the best k in a small sorted array (k is small)
    const bestSim: number[] = []
    const bestRow: number[] = []
    const m = this.#matrix
    for (let row = 0; row < n; row++) {
      if (filter?.session !== undefined && this.#rows[row]!.meta.session !== filter.session) continue
      let s = 0
      const base = row * d
      for (let j = 0; j < d; j++) s += m[base + j]! * q[j]!
      if (bestSim.length === k && s <= bestSim[k - 1]!) continue
      let at = bestSim.length
      while (at > 0 && bestSim[at - 1]! < s) at--
      bestSim.splice(at, 0, s)
      bestRow.splice(at, 0, row)
      if (bestSim.length > k) {
        bestSim.pop()
        bestRow.pop()
      }
    }
    return bestRow.map((row, i) => {
      const r = this.#rows[row]!
      const embedding = Array.from(m.subarray(row * d, (row + 1) * d))
      return { id: r.id, text: r.text, meta: { ...r.meta }, distance: 1 - bestSim[i]!, embedding }
    })
  }

  async get(filter: MemoryFilter & { limit?: number; offset?: number }): Promise<StoredMemory[]> {
    const all = this.#rows.filter((r) => matches(r, filter))
    return all
      .slice(filter.offset ?? 0, filter.limit === undefined ? undefined : (filter.offset ?? 0) + filter.limit)
      .map((r) => ({ ...r, meta: { ...r.meta } }))
  }

  async delete(filter: MemoryFilter): Promise<number> {
    const keep = this.#rows.filter((r) => !matches(r, filter))
    const removed = this.#rows.length - keep.length
    if (removed === 0) return 0
    const d = this.#dims
    const matrix = new Float32Array(Math.max(keep.length * d, 0))
    keep.forEach((r, i) =>
      matrix.set(this.#matrix.subarray(this.#index.get(r.id)! * d, (this.#index.get(r.id)! + 1) * d), i * d),
    )
    this.#matrix = matrix
    this.#rows = keep
    this.#index = new Map(keep.map((r, i) => [r.id, i]))
    return removed
  }

  async listIds(): Promise<string[]> {
    return this.#rows.map((r) => r.id)
  }

  async withVectors(ids: string[]): Promise<StoredVector[]> {
    const d = this.#dims
    return ids.flatMap((id) => {
      const row = this.#index.get(id)
      if (row === undefined) return []
      const r = this.#rows[row]!
      return [
        { id, text: r.text, meta: { ...r.meta }, embedding: Array.from(this.#matrix.subarray(row * d, (row + 1) * d)) },
      ]
    })
  }

  async count(): Promise<number> {
    return this.#rows.length
  }

  async updateMeta(id: string, patch: Partial<Pick<MemoryMeta, 'recalls' | 'lastRecalledAt'>>): Promise<void> {
    const row = this.#index.get(id)
    if (row !== undefined) Object.assign(this.#rows[row]!.meta, patch)
  }
}

function matches(r: { id: string; meta: MemoryMeta }, f: MemoryFilter): boolean {
  if (f.all) return true
  if (f.ids && !f.ids.includes(r.id)) return false
  if (f.session !== undefined && r.meta.session !== f.session) return false
  if (f.before !== undefined && !(r.meta.createdAt < f.before)) return false
  if (f.since !== undefined && !(r.meta.createdAt >= f.since)) return false
  return Boolean(f.ids || f.session !== undefined || f.before !== undefined || f.since !== undefined)
}
