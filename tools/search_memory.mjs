// search_memory: what the user told Mirador before, through the memory.search capability. Runs in
// the sandbox: no imports, no Node APIs; the only way out is host.call on a granted capability.
export default async function searchMemory({ query, k = 5 }, host) {
  try {
    const { results } = await host.call('memory.search', { query, k })
    return { query, results: results.map((r) => ({ id: r.id, text: r.text, score: r.score, at: r.at })) }
  } catch (err) {
    const message = String((err && err.message) || err)
    // memory turned off is an answer, not a failure: the model should say it cannot recall
    if (/memory is off/i.test(message)) return { query, results: [], note: 'memory is off: nothing can be recalled' }
    throw new Error(`memory search failed: ${message}`, { cause: err })
  }
}
