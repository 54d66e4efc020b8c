/** A chain's name as the user gave it: `quick-deep`, or `chains/x.yaml` → `x`. One rule for ack and run. */
export function chainDisplayName(nameOrPath: string): string {
  return nameOrPath.replace(/^.*[/\\]/, '').replace(/\.ya?ml$/, '')
}
