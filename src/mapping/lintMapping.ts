// What `validate` says besides hard problems: warnings on things that load fine but rarely mean what they say
// (fixture scalars YAML reads as numbers, `!=` on fields that may be missing), and the `TODO`s a scaffold
// leaves to fill (problems: an unfinished mapping is not ok).
import { isMap, isScalar, isSeq, Scalar, type Node } from 'yaml'
import { notEqualComparisons } from '../expr/expressionPaths'
import type { DiagnosticCode } from '../diagnostics/codes'
import { dedupeCoverageWarnings } from './dedupeCoverage'
import { formatPath, type PathSegment, type Problem, type SourceDocument } from './problems'

/** Plain (unquoted) number forms whose value differs from what was typed: `5e70`, `0o17`, `017`, `0x1f`. */
const SURPRISING_NUMBER = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+|0o[0-7]+|0x[0-9a-fA-F]+|0\d+)$/

function walk(node: unknown, path: PathSegment[], visit: (s: Scalar, path: PathSegment[]) => void) {
  if (isScalar(node)) visit(node, path)
  else if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key
      walk(pair.value, [...path, String(key)], visit)
    }
  } else if (isSeq(node)) for (const [i, item] of node.items.entries()) walk(item, [...path, i], visit)
}

function at(source: SourceDocument, code: DiagnosticCode, node: Node, path: PathSegment[], message: string, offsetInNode = 0): Problem {
  const { line, col } = source.lines.linePos((node.range?.[0] ?? 0) + offsetInNode)
  return { file: source.file, line, column: col, path: formatPath(path), code, message }
}

const sectionNode = (source: SourceDocument, name: string): unknown => {
  const root = source.doc.contents
  return isMap(root) ? root.get(name, true) : undefined
}

/** Unquoted fixture scalars that YAML reads as a number unlike what was typed (an id `5e70` becomes 5e+70). */
function numberWarnings(source: SourceDocument): Problem[] {
  const out: Problem[] = []
  walk(sectionNode(source, 'fixtures'), ['fixtures'], (node, path) => {
    if (node.type !== Scalar.PLAIN || typeof node.value !== 'number' || !node.range) return
    const typed = source.text.slice(node.range[0], node.range[1]).trim()
    const surprising = SURPRISING_NUMBER.test(typed)
    // A long plain integer (an id) loses its last digits as a double.
    const unsafe = !surprising && Number.isInteger(node.value) && !Number.isSafeInteger(node.value)
    if (!surprising && !unsafe) return
    out.push(
      at(
        source,
        'UH-W001',
        node,
        path,
        `warning: ${typed} is read as the number ${String(node.value)}${unsafe ? ' (digits lost)' : ''}; quote it ("${typed}") if it is an id or text`,
      ),
    )
  })
  return out
}

/** `a.b != "x"` is false when `a.b` is missing; say so, with the idioms that say what was meant. */
function notEqualWarnings(source: SourceDocument): Problem[] {
  const out: Problem[] = []
  for (const section of ['operations', 'webhook']) {
    walk(sectionNode(source, section), [section], (node, path) => {
      if (typeof node.value !== 'string' || !node.value.includes('!=') || !node.range) return
      const text = node.value
      // Templates hold expressions in {{ }}; other strings are expressions as a whole.
      const parts = text.includes('{{')
        ? [...text.matchAll(/\{\{([\s\S]*?)\}\}/g)].map((m) => ({ source: m[1]!, offset: m.index! + 2 }))
        : [{ source: text, offset: 0 }]
      for (const part of parts) {
        for (const c of notEqualComparisons(part.source)) {
          const { line, column } = source.locate(path, { offsetInValue: part.offset + c.offset })
          out.push({
            file: source.file,
            line,
            column,
            path: formatPath(path),
            code: 'UH-W002',
            message: `warning: "${c.path} != …" is false when ${c.path} is missing (JSONata compares nothing with nothing); if a missing ${c.path} counts as different write "$not(${c.path} = …)", if it must not match write "$exists(${c.path}) and ${c.path} != …"`,
          })
        }
      }
    })
  }
  return out
}

/** Warnings for `validate`: positioned, never failures. */
export const mappingWarnings = (source: SourceDocument): Problem[] =>
  [...numberWarnings(source), ...notEqualWarnings(source), ...dedupeCoverageWarnings(source)].sort((a, b) => a.line - b.line || a.column - b.column)

/** Values still reading `TODO` (what `init` writes): problems, one per value, so an unfinished file is not ok. */
export function todoProblems(source: SourceDocument): Problem[] {
  const out: Problem[] = []
  walk(source.doc.contents, [], (node, path) => {
    if (typeof node.value !== 'string' || !node.value.includes('TODO')) return
    const offset = node.value.indexOf('TODO')
    const { line, column } = source.locate(path, { offsetInValue: offset })
    const value = node.value.replace(/\s+/g, ' ').trim()
    out.push({
      file: source.file,
      line,
      column,
      path: formatPath(path),
      code: 'UH-E024',
      message: `TODO left to fill in: ${value.length > 120 ? `${value.slice(0, 120)}…` : value}`,
    })
  })
  return out
}
