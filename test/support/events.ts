/** Events as tests read them: any field may be asserted on, whatever the type. */
export interface LooseEvent {
  type: string
  runId: string
  t: number
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any
}
