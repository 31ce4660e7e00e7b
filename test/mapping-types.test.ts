// The format's shape has one source of truth, schemas/mapping.schema.json. src/mapping/types.ts describes the
// same shape for the code and is held to it here: every object has the same fields (optional exactly when the
// schema does not require them), the same enums, the same maps and lists, down to the leaves. The section
// compilers (src/mapping/compile/) are held to types.ts by the type checker (allFieldsRead), so a field added
// to the schema fails here until types.ts has it, then fails typechecking until a compiler reads it.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import type { SchemaNode } from './support/schemaNode'

const schema: SchemaNode = JSON.parse(readFileSync(fileURLToPath(new URL('../schemas/mapping.schema.json', import.meta.url)), 'utf8'))
const typesFile = fileURLToPath(new URL('../src/mapping/types.ts', import.meta.url))

const program = ts.createProgram([typesFile], { strict: true, noEmit: true, skipLibCheck: true, types: [] })
const checker = program.getTypeChecker()
const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(typesFile)!)!

function exportedType(name: string): ts.Type {
  const symbol = checker.getExportsOfModule(moduleSymbol).find((s) => s.name === name)
  if (!symbol) throw new Error(`src/mapping/types.ts does not export ${name}`)
  return checker.getDeclaredTypeOfSymbol(symbol)
}

const members = (t: ts.Type): ts.Type[] => (t.isUnion() ? t.types : [t]).filter((m) => !(m.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)))
const isObject = (t: ts.Type) => !!(t.flags & ts.TypeFlags.Object) || t.isIntersection()
const literals = (ts_: ts.Type[]) => ts_.filter((m) => m.isLiteral()).map((m) => (m as ts.LiteralType).value)
const propertyType = (t: ts.Type, name: string) => {
  const p = t.getProperty(name)
  return p && checker.getTypeOfSymbol(p)
}
const sameSet = (a: unknown[], b: unknown[]) => a.length === b.length && a.every((x) => b.includes(x))
const show = (xs: unknown[]) =>
  xs
    .map((x) => JSON.stringify(x))
    .sort()
    .join(', ')

/** Differences between a schema node and the TypeScript type that describes it, each with its place. */
function differences(root: SchemaNode, type: ts.Type): string[] {
  const out: string[] = []
  const resolve = (n: SchemaNode): SchemaNode =>
    typeof n?.$ref === 'string'
      ? resolve(
          n.$ref
            .replace('#/', '')
            .split('/')
            .reduce((o: SchemaNode, k: string) => o[k] as SchemaNode, root),
        )
      : n

  // The format is recursive (a token request's steps are steps): a node met again inside itself is not re-entered.
  const open: { node: SchemaNode; types: ts.Type[] }[] = []
  function compare(node: SchemaNode, types: ts.Type[], at: string): void {
    const n = resolve(node)
    if (typeof n !== 'object' || n === null) return
    if (open.some((o) => o.node === n && o.types.length === types.length && o.types.every((t, i) => t === types[i]))) return
    open.push({ node: n, types })
    try {
      compareNode(n, types, at)
    } finally {
      open.pop()
    }
  }

  function compareNode(n: SchemaNode, types: ts.Type[], at: string): void {
    const objects = types.filter(isObject)

    // A discriminated union (`auth`, `verify`): `allOf` of `if: {properties: {<key>: {const}}}, then: {$ref}`.
    if (Array.isArray(n.allOf) && n.allOf.every((b) => b.if && b.then)) {
      const constOf = (b: SchemaNode, key: string) => b.if!.properties![key]?.const
      const key = Object.keys(n.allOf[0]!.if!.properties!)[0]!
      const values = n.allOf.map((b) => constOf(b, key))
      const typeValues = objects.flatMap((o) => literals(members(propertyType(o, key) ?? o)))
      if (!sameSet(values, typeValues)) out.push(`${at}: ${key} is one of ${show(values)} in the schema, ${show(typeValues)} in types.ts`)
      for (const branch of n.allOf) {
        const value = constOf(branch, key)
        const member = objects.find((o) => sameSet(literals(members(propertyType(o, key) ?? o)), [value]))
        if (member) compare(branch.then!, [member], `${at}(${key}: ${value})`)
      }
      return
    }
    // `verify`: a string from an enum, or else an object.
    if (n.if && n.then?.enum && n.else) {
      const values = literals(types)
      if (!sameSet(n.then.enum, values)) out.push(`${at}: the string form is one of ${show(n.then.enum)} in the schema, ${show(values)} in types.ts`)
      compare(n.else, objects, at)
      return
    }
    if (n.enum || n.const !== undefined) {
      const values = n.enum ?? [n.const]
      const typeValues = literals(types)
      if (!sameSet(values, typeValues)) out.push(`${at}: one of ${show(values)} in the schema, ${show(typeValues)} in types.ts`)
      return
    }
    if (n.items) {
      const arrays = types.filter((t) => checker.isArrayType(t))
      if (arrays.length !== 1) out.push(`${at}: a list in the schema, not in types.ts`)
      else compare(n.items, members(checker.getTypeArguments(arrays[0] as ts.TypeReference)[0]!), `${at}[]`) // a union of items: its members
      return
    }
    if (!n.properties && typeof n.additionalProperties !== 'object') return // a leaf, or a free-form object
    if (objects.length !== 1) {
      out.push(`${at}: an object in the schema, ${objects.length} object types in types.ts`)
      return
    }
    const object = objects[0]!
    const index = checker.getIndexInfoOfType(object, ts.IndexKind.String)
    if (typeof n.additionalProperties === 'object') {
      if (!index) out.push(`${at}: a map in the schema, no string index in types.ts`)
      else compare(n.additionalProperties, members(index.type), `${at}.*`)
    } else if (n.additionalProperties === false && index) out.push(`${at}: the schema allows no other fields, types.ts has a string index`)
    else if (n.additionalProperties === undefined && n.properties && !index) out.push(`${at}: the schema allows other fields, types.ts has no string index`)
    if (!n.properties) return

    const schemaFields = Object.keys(n.properties)
    const typeFields = object.getProperties().map((p) => p.name)
    for (const f of schemaFields.filter((f) => !typeFields.includes(f))) out.push(`${at}.${f}: in the schema, missing in types.ts`)
    for (const f of typeFields.filter((f) => !schemaFields.includes(f))) out.push(`${at}.${f}: in types.ts, not in the schema`)
    const required: string[] = n.required ?? []
    for (const f of schemaFields.filter((f) => typeFields.includes(f))) {
      const symbol = object.getProperty(f)!
      const optional = !!(symbol.flags & ts.SymbolFlags.Optional)
      if (optional === required.includes(f))
        out.push(`${at}.${f}: ${required.includes(f) ? 'required' : 'optional'} in the schema, ${optional ? 'optional' : 'required'} in types.ts`)
      compare(n.properties[f], members(checker.getTypeOfSymbol(symbol)), `${at}.${f}`)
    }
  }

  compare(root, members(type), '(root)')
  return out
}

describe('src/mapping/types.ts matches schemas/mapping.schema.json', () => {
  it('field by field, enum by enum, from MappingFile down', () => {
    expect(differences(schema, exportedType('MappingFile'))).toEqual([])
  })

  it('a field the schema gains and types.ts lacks is named with its place (the check can fail)', () => {
    const grown = structuredClone(schema)
    const definitions = grown.definitions!
    definitions.request!.properties!.timeoutMs = { type: 'integer' }
    definitions.verifyHmac!.required!.push('prefix')
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable
    definitions.auth!.allOf!.push({ if: { properties: { type: { const: 'oauth2' } } }, then: { type: 'object' } })
    expect(differences(grown, exportedType('MappingFile'))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\(root\)\.http\.auth: type is one of .*"oauth2".* in the schema/),
        '(root).operations.createUser.steps[].request.timeoutMs: in the schema, missing in types.ts',
        '(root).webhook.verify(scheme: hmac).prefix: required in the schema, optional in types.ts',
      ]),
    )
  })
})
