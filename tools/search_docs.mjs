// search_docs: passages of the user's indexed documents, through the docs.search capability, each
// with its citation (path:first-last line). Runs in the sandbox: no imports, no Node APIs; the only
// way out is host.call on a granted capability.
export default async function searchDocs({ query, k = 5 }, host) {
  try {
    const { indexed, results } = await host.call('docs.search', { query, k })
    const passages = results.map((r) => ({ citation: r.citation, heading: r.heading, text: r.text, score: r.score }))
    // nothing indexed is an answer too: the model can tell the user how to add documents
    if (!indexed) return { query, results: [], note: 'no documents are indexed (mirador docs add PATH adds some)' }
    return { query, results: passages }
  } catch (err) {
    const message = String((err && err.message) || err)
    if (/memory is off/i.test(message))
      return { query, results: [], note: 'memory is off: documents cannot be searched' }
    throw new Error(`document search failed: ${message}`, { cause: err })
  }
}
