import { isScalar, type LineCounter, type Document, type Node, type Pair, type YAMLMap, isPair, isMap, isSeq, Scalar } from 'yaml'
import type { DiagnosticCode } from '../diagnostics/codes'

export type PathSegment = string | number

/** One thing wrong in a mapping or settings file, placed at its source. */
export type Problem = {
  file: string
  line: number
  column: number
  path: string
  /** Stable code listed in docs/errors.md (src/diagnostics/codes.ts). */
  code: DiagnosticCode
  message: string
}

export const formatPath = (path: readonly PathSegment[]) =>
  path.length === 0 ? '(root)' : path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')

export const formatProblem = (p: Problem) => `${p.file}:${p.line}:${p.column}: ${p.path}: ${p.code} ${p.message}`

/** Thrown when a mapping or settings file has problems; the message lists every one. */
export class MappingError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'))
    this.name = 'MappingError'
  }
}

/** A parsed YAML document plus what is needed to turn a path into `line:column`. */
export class SourceDocument {
  constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: Document.Parsed,
    readonly lines: LineCounter,
  ) {}

  /** Position of the node at `path`, or of its nearest existing parent. */
  locate(path: readonly PathSegment[], options?: { key?: boolean; offsetInValue?: number }): { line: number; column: number } {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.nodeAt(path.slice(0, depth), options?.key && depth === path.length)
      if (node?.range) {
        let offset = node.range[0]
        if (depth === path.length && options?.offsetInValue !== undefined && isScalar(node)) {
          offset = this.offsetInScalar(node, options.offsetInValue)
        }
        const { line, col } = this.lines.linePos(offset)
        return { line, column: col }
      }
    }
    return { line: 1, column: 1 }
  }

  problem(code: DiagnosticCode, path: readonly PathSegment[], message: string, options?: { key?: boolean; offsetInValue?: number }): Problem {
    const { line, column } = this.locate(path, options)
    return { file: this.file, line, column, path: formatPath(path), code, message }
  }

  private nodeAt(path: readonly PathSegment[], key?: boolean): Node | undefined {
    let node: unknown = this.doc.contents
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]
      if (isMap(node)) {
        const pair = this.pairsOf(node).get(seg)
        if (!pair) return undefined
        if (key && i === path.length - 1) return pair.key as Node
        node = pair.value
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg]
      } else return undefined
    }
    return (node ?? undefined) as Node | undefined
  }

  /** Key → pair of a map, built once per map: placing many problems stays linear in the file's size. */
  private readonly pairIndex = new WeakMap<object, Map<unknown, Pair>>()
  private pairsOf(map: YAMLMap): Map<unknown, Pair> {
    let index = this.pairIndex.get(map)
    if (!index) {
      index = new Map()
      for (const it of map.items) {
        const k = isScalar(it.key) ? it.key.value : it.key
        if (isPair(it) && !index.has(k)) index.set(k, it as Pair)
      }
      this.pairIndex.set(map, index)
    }
    return index
  }

  /** Maps a character offset (≥ 0) inside a scalar's value to an offset in the file. */
  private offsetInScalar(node: Scalar, index: number): number {
    const [start, valueEnd] = node.range!
    if (node.type === Scalar.PLAIN) return start + index
    if (node.type === Scalar.QUOTE_SINGLE || node.type === Scalar.QUOTE_DOUBLE) {
      // Exact for values without escapes or folding; otherwise the best near position.
      return start + 1 + Math.min(index, valueEnd - start - 2)
    }
    // Block scalars: find the value's line and column among the body lines.
    const { valueBreaks, bodyLineStarts, indent } = this.blockLines(node)
    const lineIndex = countBelow(valueBreaks, index)
    const col = index - (lineIndex === 0 ? 0 : valueBreaks[lineIndex - 1]! + 1)
    // The block's indentation (that of its first non-empty line) is not part of the value; a line's own
    // further indentation is, and is already counted in `col`.
    return bodyLineStarts[Math.min(lineIndex, bodyLineStarts.length - 1)]! + indent + col
  }

  /**
   * A block scalar's line breaks, built once per scalar: a long body with many problems in it (one per unknown
   * variable, say) is not split again for each of them.
   */
  private readonly blockIndex = new WeakMap<Scalar, BlockLines>()
  private blockLines(node: Scalar): BlockLines {
    let lines = this.blockIndex.get(node)
    if (!lines) {
      lines = blockLines(this.text.slice(node.range![0], node.range![1]), String(node.value), node.range![0])
      this.blockIndex.set(node, lines)
    }
    return lines
  }
}

type BlockLines = { valueBreaks: number[]; bodyLineStarts: number[]; indent: number }

/** Where the value's lines break, where the body's lines start in the file, and the block's indentation. */
function blockLines(raw: string, value: string, start: number): BlockLines {
  const valueBreaks: number[] = []
  for (let i = value.indexOf('\n'); i >= 0; i = value.indexOf('\n', i + 1)) valueBreaks.push(i)
  const bodyLines = raw.split('\n').slice(1) // first line is the `|` or `>` header
  // bodyLineStarts[i]: the file offset of body line i; one more entry for an index past the last line.
  const bodyLineStarts = [start + raw.indexOf('\n') + 1]
  for (const line of bodyLines) bodyLineStarts.push(bodyLineStarts.at(-1)! + line.length + 1)
  const first = bodyLines.find((l) => l.trim() !== '') ?? ''
  return { valueBreaks, bodyLineStarts, indent: first.match(/^ */)![0].length }
}

/** How many of the ascending `xs` are below `x` (binary search; strings in code-unit order, as `sort()` leaves them). */
export function countBelow<T extends number | string>(xs: readonly T[], x: T): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}
