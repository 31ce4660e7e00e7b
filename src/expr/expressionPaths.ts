// What an expression reads: the field paths in its JSONata syntax tree. `route --explain` evaluates them to say
// which one is missing; `validate` finds `!=` comparisons of fields that may be missing.
import jsonata from 'jsonata'

type Node = { type: string; value?: unknown; position?: number; steps?: Node[]; predicate?: Node[]; stages?: Node[]; lhs?: unknown; rhs?: unknown }

/** A field path as written: `ticket.assignee.id`, `$headers.x-sig` (a variable first, then names). */
export type FieldPath = { segments: { variable: boolean; name: string }[]; text: string }

const quoteName = (name: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name.replace(/`/g, '')}\``)

/** The JSONata source of the first `n` segments of a path (to evaluate how far it exists). */
export const pathPrefixSource = (p: FieldPath, n: number) =>
  p.segments
    .slice(0, n)
    .map((s) => (s.variable ? `$${s.name}` : quoteName(s.name)))
    .join('.')

function toPath(node: Node): FieldPath | undefined {
  if (node.type !== 'path' || !node.steps?.length) return undefined
  const segments: FieldPath['segments'] = []
  for (const [i, step] of node.steps.entries()) {
    if (step.type === 'name' && typeof step.value === 'string') segments.push({ variable: false, name: step.value })
    else if (i === 0 && step.type === 'variable' && typeof step.value === 'string' && step.value !== '') segments.push({ variable: true, name: step.value })
    else break // a filter, function or wildcard: the plain path ends here
    if (step.predicate?.length || step.stages?.length) break
  }
  if (segments.length === 0 || (segments.length === 1 && segments[0]!.variable)) return undefined
  const p = { segments, text: '' }
  p.text = pathPrefixSource(p, segments.length)
  return p
}

/** Sub-nodes wherever the tree keeps them (operands, steps, arguments, object constructors' pairs, ...). */
function children(n: Node): Node[] {
  const out: Node[] = []
  const collect = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(collect)
    else if (v && typeof v === 'object' && typeof (v as Node).type === 'string') out.push(v as Node)
    else if (v && typeof v === 'object') Object.values(v).forEach(collect)
  }
  for (const [k, v] of Object.entries(n)) if (k !== 'value' && k !== 'position') collect(v)
  return out
}

function parse(source: string): Node | undefined {
  try {
    return jsonata(source).ast() as Node
  } catch {
    return undefined // syntax errors are reported where the mapping is compiled
  }
}

function walk(node: Node | undefined, visit: (n: Node) => void) {
  if (!node) return
  visit(node)
  for (const c of children(node)) walk(c, visit)
}

/** Every plain field path the expression reads, in order, without repeats. */
export function fieldPaths(source: string): FieldPath[] {
  const out = new Map<string, FieldPath>()
  walk(parse(source), (n) => {
    const p = toPath(n)
    if (p && !out.has(p.text)) out.set(p.text, p)
  })
  return [...out.values()]
}

/**
 * `a.b != 'x'` is false when `a.b` is missing (JSONata compares nothing with nothing): the paths compared
 * with `!=` (settings are always there, so not those), and the character offset of each `!=`.
 */
export function notEqualComparisons(source: string): { path: string; offset: number }[] {
  const out: { path: string; offset: number }[] = []
  let compact: string | undefined // the source without whitespace, made once (not per comparison)
  walk(parse(source), (n) => {
    if (n.type !== 'binary' || n.value !== '!=') return
    for (const side of [n.lhs, n.rhs] as (Node | undefined)[]) {
      const p = side && toPath(side)
      if (!p || ['settings', 'registration'].includes(p.segments[0]!.name)) continue
      // Guarded the way the warning suggests: `$exists(a.b) and a.b != …` says what it means.
      compact ??= source.replace(/\s+/g, '')
      if (compact.includes(`$exists(${p.text})`)) continue
      out.push({ path: p.text, offset: Math.max(0, (n.position ?? 2) - 2) })
    }
  })
  return out
}
