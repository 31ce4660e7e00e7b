import { visit } from 'yaml'
import { compileMappingText } from './loadMapping'
import { parseYaml } from './parseYaml'

/**
 * The compact form of a mapping for pasting into the configuration: the same YAML without comments, without
 * `fixtures` (they only matter to `universal-hitl test` and the test suite) and without line folding. It is an
 * ordinary mapping: the integration reads it as is. The file is validated first, and so is the result.
 */
export function packMapping(text: string, file: string): string {
  compileMappingText(text, file)
  const doc = parseYaml(text, file).doc.clone()
  doc.delete('fixtures')
  doc.commentBefore = null
  doc.comment = null
  visit(doc, {
    Node(_key, node) {
      node.commentBefore = null
      node.comment = null
      node.spaceBefore = false
    },
    Pair(_key, pair) {
      for (const part of [pair.key, pair.value]) {
        if (part && typeof part === 'object' && 'commentBefore' in part) {
          ;(part as { commentBefore?: string | null }).commentBefore = null
        }
      }
    },
  })
  const packed = doc.toString({ lineWidth: 0 })
  compileMappingText(packed, `${file} (packed)`)
  return packed
}
