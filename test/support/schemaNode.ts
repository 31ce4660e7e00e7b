/**
 * A node of schemas/mapping.schema.json (JSON Schema draft-07) with the keywords the schema tests walk typed;
 * any other keyword reads as unknown.
 */
export type SchemaNode = {
  $ref?: string
  const?: unknown
  enum?: unknown[]
  required?: string[]
  properties?: Record<string, SchemaNode>
  additionalProperties?: boolean | SchemaNode
  items?: SchemaNode
  allOf?: SchemaNode[]
  if?: SchemaNode
  then?: SchemaNode
  else?: SchemaNode
  definitions?: Record<string, SchemaNode>
  [keyword: string]: unknown
}
