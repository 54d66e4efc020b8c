/**
 * Updated facts. When a later memory updates an earlier one ("we moved the Lisbon trip to May", "Rui's
 * new number is …"), recall must give the newer one first. Nothing marks an update when it is
 * remembered, so it is recognised among the memories compared:
 *
 *   B supersedes A when B was made later, their vectors are close (cosine ≥ `similarity`), and they
 *   share a word that none of the other memories compared holds.
 *
 * The shared word is what makes it the same subject ("lisbon", "easyjet", "mortgage", a name, a
 * number) rather than the same kind of thing. It is a weak test on its own, measured on the labelled
 * dialogue set (bench/data/memory-recall-dialogue.json) with the bundled sentence encoder: among the
 * 40 candidates of its questions, 89 pairs of memories have a cosine of 0.7 or more, 17 of them
 * labelled updates (the set's other 10 update pairs are less alike than that, and are not found);
 * the shared word keeps all 17 and drops 23 of the other 72. Most of the 49 left are a later state
 * of the same subject (a trip and its report, a plan and its result), where the newer one first is
 * right too; the rest (an old address and a birthday abroad, two flights to different places) are
 * why recall also asks for the margin below. Words are the terms BM25 counts (lib/bm25.ts: stemmed,
 * stop words dropped). With fewer than MIN_COMPARED memories to compare, a word two of them share is
 * no evidence, and nothing is linked.
 *
 * At recall (recall.ts) the memories compared are the candidates of one question, and a successor
 * is only moved when the question wants it too: its score is within `margin` of the superseded
 * memory's. It then goes right above it (its own successors above it in turn), so the superseded
 * memory drops one place per successor and stays in the list: a question about the old state still
 * finds it. `memory show` compares a memory with its nearest neighbours the same way, with no
 * question (and so no margin).
 */
import { tokenize } from '../../lib/bm25.js'
import { cosine } from '../../lib/embedder.js'

export interface SupersedeRule {
  /** minimum cosine similarity between the two memories' vectors */
  similarity: number
  /** at recall: how far (in combined score, 0–1) below the superseded memory its successor may be */
  margin: number
}

/** What is compared: a memory with its vector and time. */
export interface Comparable {
  text: string
  embedding?: number[] | undefined
  meta: { createdAt: number }
}

/**
 * Fewer memories than this are not compared: that a word is held by two of a handful of memories
 * says little ("booked" in two of three), so small stores and small candidate sets get no
 * supersede relation at all. Recall compares k × over-fetch candidates (40 by default).
 */
export const MIN_COMPARED = 10

/**
 * For each memory, the indices of the memories that supersede it (later, close, a word only the two
 * share), in input order. Memories without a vector take no part; fewer than MIN_COMPARED, none.
 */
export function successors(items: readonly Comparable[], similarity: number): number[][] {
  if (items.length < MIN_COMPARED) return items.map((): number[] => [])
  const terms = items.map((m) => new Set(tokenize(m.text)))
  const df = new Map<string, number>()
  for (const set of terms) for (const t of set) df.set(t, (df.get(t) ?? 0) + 1)
  const out = items.map((): number[] => [])
  for (let i = 0; i < items.length; i++) {
    const a = items[i]!
    if (!a.embedding) continue
    for (let j = 0; j < items.length; j++) {
      const b = items[j]!
      if (!b.embedding || b.meta.createdAt <= a.meta.createdAt) continue
      if (cosine(a.embedding, b.embedding) < similarity) continue
      for (const t of terms[i]!)
        if (df.get(t) === 2 && terms[j]!.has(t)) {
          out[i]!.push(j)
          break
        }
    }
  }
  return out
}

/**
 * Reorders memories ranked best first (`scores`, descending) so that each memory's successors
 * (`next`, from `successors`) within `margin` of its score come right above it; a successor already
 * above stays where it is. Returns the new order as indices, and for each superseded memory the
 * index of its best-ranked successor within the margin (always above it in the new order).
 */
export function promote(
  scores: readonly number[],
  next: readonly (readonly number[])[],
  margin: number,
): { order: number[]; supersededBy: Map<number, number> } {
  const placed = new Set<number>()
  const order: number[] = []
  const supersededBy = new Map<number, number>()
  // place(i) puts i's unplaced successors (recursively theirs first) before i; no cycle: each is later
  const place = (i: number): void => {
    placed.add(i)
    for (const j of next[i]!) {
      if (scores[j]! < scores[i]! - margin) continue
      if (!supersededBy.has(i)) supersededBy.set(i, j)
      if (!placed.has(j)) place(j)
    }
    order.push(i)
  }
  for (let i = 0; i < scores.length; i++) if (!placed.has(i)) place(i)
  return { order, supersededBy }
}

/**
 * For `memory show`: which of `neighbours` (the memory's nearest, with their vectors) supersede
 * `target`, and which it supersedes, by the rule above with the neighbours as the memories compared.
 */
export function updatesAround<T extends Comparable & { id: string }>(
  target: T,
  neighbours: readonly T[],
  similarity: number,
): { supersededBy: T[]; supersedes: T[] } {
  const items = [target, ...neighbours.filter((n) => n.id !== target.id)]
  const next = successors(items, similarity)
  return {
    supersededBy: next[0]!.map((j) => items[j]!),
    supersedes: items.filter((_, i) => i > 0 && next[i]!.includes(0)),
  }
}
