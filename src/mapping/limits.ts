// Limits on what a pasted configuration may cost. A pasted mapping travels with every call Botpress makes to
// the integration and is compiled on a cold start, so its size bounds work done before anything is checked.

/** Bytes of a mapping's text: the shipped ones are under 50 KB with their comments and fixtures. */
export const MAX_MAPPING_BYTES = 256 * 1024

/** Settings a mapping declares: the shipped ones declare at most 6; thousands only cost every load. */
export const MAX_SETTINGS = 100

/**
 * Flow nesting (`[[[…` / `{a: {a: …`) deeper than this is refused before parsing: `yaml` recurses per level
 * and, thousands of levels down, spends seconds hitting the stack limit. Mappings nest under 20 levels (JSONata
 * bodies in block scalars count too, which is why the bound is generous).
 */
export const MAX_FLOW_NESTING = 200

/** Alias expansions (`*anchor`) in one document: shipped mappings use a handful; a "billion laughs" needs millions. */
export const MAX_ALIAS_EXPANSIONS = 100

/** Bytes of the settings text (a few tokens and URLs; room for a pasted PEM key). */
export const MAX_SETTINGS_BYTES = 64 * 1024
