// A cheap pre-check for event rules, so a mapping with many rules does not pay one JSONata evaluation per rule
// per delivery. Most `when` expressions start with plain equalities (`event = "message.created" and ...`):
// those are read straight from the event object, and a rule whose equality is certainly false is skipped
// without running JSONata. Anything the check is not sure about (arrays, functions, variables) is left to the
// expression itself, so the outcome is always what JSONata would decide.
import jsonata from 'jsonata'

type Guard = { path: string[]; value: string | number | boolean }
type Node = { type: string; value?: unknown; lhs?: Node; rhs?: Node; steps?: Node[]; [k: string]: unknown }

const LITERALS = new Set(['string', 'number', 'value'])
// Keys a path step carries when it does more than name a field (filters, sorting, binding...).
const STEP_EXTRAS = ['stages', 'predicate', 'group', 'focus', 'index', 'tuple', 'keepArray', 'consarray', 'ancestor']

function fieldPath(node: Node | undefined): string[] | undefined {
  if (node?.type !== 'path' || !node.steps || node.keepSingletonArray) return undefined
  const names: string[] = []
  for (const step of node.steps) {
    if (step.type !== 'name' || typeof step.value !== 'string' || STEP_EXTRAS.some((k) => step[k] !== undefined)) return undefined
    names.push(step.value)
  }
  return names
}

function literal(node: Node | undefined): Guard['value'] | undefined {
  if (!node || !LITERALS.has(node.type)) return undefined
  const v = node.value
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined
}

/** The `field = literal` conjuncts at the top of an `and` chain. */
function conjuncts(node: Node | undefined, out: Guard[]): Guard[] {
  if (node?.type !== 'binary') return out
  if (node.value === 'and') {
    conjuncts(node.lhs, out)
    conjuncts(node.rhs, out)
  } else if (node.value === '=') {
    const [path, value] = fieldPath(node.lhs) ? [fieldPath(node.lhs), literal(node.rhs)] : [fieldPath(node.rhs), literal(node.lhs)]
    if (path && value !== undefined) out.push({ path, value })
  }
  return out
}

const guardsOf = new Map<string, Guard[]>()

/** The guards of a `when` source (parsed once per distinct source). */
function guardsFor(source: string): Guard[] {
  let guards = guardsOf.get(source)
  if (!guards) {
    try {
      guards = conjuncts(jsonata(source).ast() as Node, [])
    } catch {
      guards = []
    }
    guardsOf.set(source, guards)
  }
  return guards
}

/** false only when an equality of `when` is certainly false for this object; true means "evaluate it". */
export function mayMatch(whenSource: string, object: unknown): boolean {
  for (const guard of guardsFor(whenSource)) {
    let v: unknown = object
    for (const name of guard.path) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        v = Array.isArray(v) ? NOT_SURE : undefined
        break
      }
      v = (v as Record<string, unknown>)[name]
    }
    if (v === NOT_SURE || Array.isArray(v)) continue // JSONata maps over arrays: let it decide
    if (v !== guard.value) return false
  }
  return true
}

const NOT_SURE = Symbol('not sure')
