import { CliError } from './inputs'
import { CONFIGURATION_WARN_BYTES, encodedConfigurationSize } from '../definition/configurationSize'
import { packMapping } from '../mapping/packMapping'

export const PACK_USAGE = `  universal-hitl pack <mapping.yaml>
      prints the mapping's compact form for pasting into the configuration (no comments, no fixtures; the
      integration reads it as is) on stdout, and its size on stderr`

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

/** `pack <mapping.yaml>`: validated, packed, printed; the sizes go to stderr so stdout can be redirected. */
export function pack(files: string[], readText: (path: string) => string): number {
  if (files.length !== 1) throw new CliError('pack needs one mapping file (universal-hitl --help)')
  const file = files[0]!
  const text = readText(file)
  const packed = packMapping(text, file)
  process.stdout.write(packed)
  const header = encodedConfigurationSize({ mapping: packed })
  const verdict =
    header <= CONFIGURATION_WARN_BYTES
      ? `fits the recommended ${kib(CONFIGURATION_WARN_BYTES)}`
      : `still over the recommended ${kib(CONFIGURATION_WARN_BYTES)}: host the file at an https URL and give "https://…#sha256=<hex>" instead`
  process.stderr.write(
    `${file}: ${Buffer.byteLength(text)} bytes → ${Buffer.byteLength(packed)} bytes packed; ${kib(header)} in the configuration header (before settings), ${verdict}\n`,
  )
  return 0
}
