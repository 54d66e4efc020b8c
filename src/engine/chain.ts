/**
 * The stage graph of a chain. A stage waits for the stages it reads (`{{stages.X.output}}` in its
 * prompt or system text) and those it lists in `after`; all others run concurrently. `skip_when`
 * names an earlier stage and a confidence: when that stage is a dependency the check happens
 * before the stage starts; when it is not, both run at once and the stage is cancelled as soon as
 * the other ends confident enough, which is how a quick answer saves a deep model's time.
 */
import { MiradorError } from './errors.js'
import { stageRefs } from './template.js'
import type { Stage } from './types.js'

export interface SkipRule {
  stage: string
  above: number
  /** true when the stage waits for `stage` anyway, so the rule is checked before it starts */
  beforeStart: boolean
}

export interface ChainGraph {
  /** stage names in a valid start order (dependencies first, then declaration order) */
  order: string[]
  deps: ReadonlyMap<string, ReadonlySet<string>>
  skips: ReadonlyMap<string, SkipRule>
}

/** A problem with the graph, with the path of the offending value in the chain file. */
export interface GraphProblem {
  path: (string | number)[]
  message: string
}

export function directDeps(name: string, stage: Stage): { refs: Set<string>; paths: Map<string, (string | number)[]> } {
  const refs = new Set<string>()
  const paths = new Map<string, (string | number)[]>()
  const add = (ref: string, p: (string | number)[]) => {
    refs.add(ref)
    if (!paths.has(ref)) paths.set(ref, p)
  }
  for (const r of stageRefs(stage.prompt)) add(r, ['stages', name, 'prompt'])
  if (stage.system) for (const r of stageRefs(stage.system)) add(r, ['stages', name, 'system'])
  ;(stage.after ?? []).forEach((r, i) => add(r, ['stages', name, 'after', i]))
  return { refs, paths }
}

/** Every problem of the graph at once (for `chain validate`). */
export function graphProblems(stages: Record<string, Stage>, answer: string[] = []): GraphProblem[] {
  const problems: GraphProblem[] = []
  const names = new Set(Object.keys(stages))
  const known = [...names].join(', ')
  for (const [name, stage] of Object.entries(stages)) {
    const { refs, paths } = directDeps(name, stage)
    for (const ref of refs) {
      if (ref === name) problems.push({ path: paths.get(ref)!, message: `stage "${name}" cannot depend on itself` })
      else if (!names.has(ref))
        problems.push({
          path: paths.get(ref)!,
          message: `stage "${name}" refers to stage "${ref}", which this chain does not have (stages: ${known})`,
        })
    }
    const skip = stage.skip_when
    if (skip) {
      if (skip.stage === name)
        problems.push({
          path: ['stages', name, 'skip_when', 'stage'],
          message: `stage "${name}" cannot be skipped on its own confidence`,
        })
      else if (!names.has(skip.stage))
        problems.push({
          path: ['stages', name, 'skip_when', 'stage'],
          message: `skip_when names stage "${skip.stage}", which this chain does not have (stages: ${known})`,
        })
    }
  }
  answer.forEach((a, i) => {
    if (!names.has(a))
      problems.push({
        path: ['answer', i],
        message: `answer names stage "${a}", which this chain does not have (stages: ${known})`,
      })
  })
  if (problems.length === 0) {
    const cycle = findCycle(stages)
    if (cycle)
      problems.push({
        path: ['stages', cycle[0]!],
        message: `stages depend on each other in a cycle: ${cycle.join(' → ')}. Remove one of the references.`,
      })
  }
  return problems
}

function findCycle(stages: Record<string, Stage>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined
    if (state.get(n) === 'visiting') return [...stack.slice(stack.indexOf(n)), n]
    state.set(n, 'visiting')
    stack.push(n)
    for (const d of directDeps(n, stages[n]!).refs) {
      if (!(d in stages)) continue
      const c = visit(d)
      if (c) return c
    }
    stack.pop()
    state.set(n, 'done')
    return undefined
  }
  for (const n of Object.keys(stages)) {
    const c = visit(n)
    if (c) return c
  }
  return undefined
}

function reaches(deps: Map<string, Set<string>>, from: string, to: string): boolean {
  const seen = new Set<string>()
  const todo = [from]
  while (todo.length) {
    const n = todo.pop()!
    if (n === to) return true
    if (seen.has(n)) continue
    seen.add(n)
    for (const d of deps.get(n) ?? []) todo.push(d)
  }
  return false
}

/**
 * Builds the graph of stages that are present (a plan may have dropped some): references to a
 * dropped stage are ignored, so dropping `deep` leaves `quick` runnable.
 */
export function buildGraph(stages: Record<string, Stage>): ChainGraph {
  const cycle = findCycle(stages)
  if (cycle)
    throw new MiradorError(
      'CHAIN_GRAPH',
      `stages depend on each other in a cycle: ${cycle.join(' → ')}. Remove one of the references.`,
      { details: { path: ['stages', cycle[0]!] } },
    )
  const deps = new Map<string, Set<string>>()
  for (const [name, stage] of Object.entries(stages)) {
    deps.set(name, new Set([...directDeps(name, stage).refs].filter((r) => r in stages)))
  }
  const skips = new Map<string, SkipRule>()
  for (const [name, stage] of Object.entries(stages)) {
    const s = stage.skip_when
    if (s && s.stage in stages)
      skips.set(name, { stage: s.stage, above: s.confidence_above, beforeStart: reaches(deps, name, s.stage) })
  }
  const order: string[] = []
  const placed = new Set<string>()
  while (order.length < deps.size) {
    for (const [name, ds] of deps) {
      if (!placed.has(name) && [...ds].every((d) => placed.has(d))) {
        order.push(name)
        placed.add(name)
      }
    }
  }
  return { order, deps, skips }
}
