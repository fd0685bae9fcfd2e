// Keeps docs/cli.md and docs/rest-api.md in step with the code they describe (issue 16).
//
//   pnpm docs:gen           rewrites the generated blocks of both files (and adds a section for a new command)
//   pnpm docs:gen --check   changes nothing; exits 1 and says exactly what to do when a file is out of date
//
// The generated blocks sit between `<!-- BEGIN GENERATED: <key> -->` and `<!-- END GENERATED: <key> -->`: each
// command's `--help` output, the command and route indexes, and every REST route (parameters, request body, an
// example request, responses and an example response synthesized from its schema) from the OpenAPI document that the
// node serves at GET /openapi.json. Everything else in the files is written by hand; the check also requires a
// hand-written `betar <command>` example for every command and a row for every BETAR_* environment variable the CLI
// reads. test/docs/reference.test.ts runs the check in CI.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { openApiDocument } from '../examples/full-node/src/api/openapi.ts'
import { COMMANDS, main } from '../examples/full-node/src/cli/main.ts'

const root = join(import.meta.dirname, '..')
export const CLI_DOC = join(root, 'docs', 'cli.md')
export const REST_DOC = join(root, 'docs', 'rest-api.md')
const NEW_COMMANDS_MARKER = '<!-- pnpm docs:gen adds the section of a new command above this line -->'

// ---------------------------------------------------------------------------------------------------------------------
// Generated blocks

const BLOCK = /<!-- BEGIN GENERATED: ([^>]+?) -->\n[\s\S]*?<!-- END GENERATED: \1 -->/g

function block(key: string, body: string): string {
  return `<!-- BEGIN GENERATED: ${key} -->\n${body.trimEnd()}\n<!-- END GENERATED: ${key} -->`
}

/** `text` with each generated block replaced by `blocks[key]`; keys with no block in `text` are returned as missing. */
function fill(text: string, blocks: Map<string, string>): { text: string; missing: string[]; stale: string[] } {
  const seen = new Set<string>()
  const stale: string[] = []
  const out = text.replace(BLOCK, (whole, key: string) => {
    seen.add(key)
    const body = blocks.get(key)
    if (body == null) {
      stale.push(key)
      return whole
    }
    return block(key, body)
  })
  return { text: out, missing: [...blocks.keys()].filter((k) => !seen.has(k)), stale }
}

/** The text outside generated blocks (what people write by hand). */
function handWritten(text: string): string {
  return text.replace(BLOCK, '')
}

// ---------------------------------------------------------------------------------------------------------------------
// CLI

/** `betar <argv>`'s stdout, run in this process (the commands load lazily; `--help` starts nothing). */
async function betarHelp(argv: string[]): Promise<string> {
  const write = process.stdout.write
  let captured = ''
  process.stdout.write = ((chunk: string | Uint8Array) => {
    captured += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk)
    return true
  }) as typeof process.stdout.write
  try {
    await main(argv)
  } finally {
    process.stdout.write = write
  }
  return captured
}

function devnetHelp(argv: string[]): string {
  const tsx = createRequire(import.meta.url).resolve('tsx')
  return execFileSync(
    process.execPath,
    ['--conditions=@betar/source', '--import', tsx, join(root, 'packages/devnet/src/bin.ts'), ...argv, '--help'],
    { encoding: 'utf8' }
  )
}

const fence = (lang: string, body: string) => `\`\`\`${lang}\n${body.trimEnd()}\n\`\`\``

export interface CliCommand {
  /** e.g. `betar call`, `betar-devnet fund` */
  name: string
  summary: string
  help: string
}

export async function cliCommands(): Promise<CliCommand[]> {
  process.stdout.setMaxListeners(0) // main() adds an EPIPE listener per run
  const commands: CliCommand[] = [{ name: 'betar', summary: 'the commands and global options', help: '' }]
  commands[0]!.help = await betarHelp(['--help'])
  for (const c of COMMANDS) {
    commands.push({ name: `betar ${c.name}`, summary: c.summary, help: await betarHelp([c.name, '--help']) })
  }
  commands.push(
    { name: 'betar-devnet', summary: 'start a local devnet', help: devnetHelp([]) },
    { name: 'betar-devnet fund', summary: "the devnet's faucet", help: devnetHelp(['fund']) }
  )
  return commands
}

/** The heading of a command's section (its anchor is derived from it). */
const heading = (name: string) => `### \`${name}\``

function cliBlocks(commands: CliCommand[]): Map<string, string> {
  const blocks = new Map<string, string>()
  blocks.set(
    'cli:index',
    [
      '| Command | What it does |',
      '|---|---|',
      ...commands.map((c) => `| [\`${c.name}\`](#${anchor(c.name)}) | ${c.summary} |`)
    ].join('\n')
  )
  for (const c of commands) blocks.set(`cli:help:${c.name}`, fence('text', c.help))
  return blocks
}

function anchor(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-')
}

function newCommandSection(c: CliCommand): string {
  return [
    heading(c.name),
    '',
    block(`cli:help:${c.name}`, fence('text', c.help)),
    '',
    'Examples:',
    '',
    fence('sh', `# TODO(docs): show \`${c.name}\` in use, one line per example`),
    ''
  ].join('\n')
}

/** Environment variables the CLI reads (from its sources). */
function cliEnvVars(): string[] {
  const dirs = [join(root, 'examples/full-node/src/cli'), join(root, 'examples/full-node/src/cli/commands')]
  const names = new Set<string>()
  for (const dir of dirs) {
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.ts')) continue
      for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/\bBETAR_[A-Z0-9_]+/g)) names.add(m[0])
    }
  }
  return [...names].sort()
}

/** Problems a person has to fix by hand in docs/cli.md (generation cannot write examples). */
function cliProblems(text: string, commands: CliCommand[]): string[] {
  const problems: string[] = []
  const sections = text.split(/^### /m).slice(1)
  for (const c of commands) {
    const section = sections.find((s) => s.startsWith(`\`${c.name}\``))
    if (section == null) continue // reported as a missing block
    const examples = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? '').split('\n'))
    const shown = examples.some((l) => !l.trim().startsWith('#') && new RegExp(`\\b${c.name}( |$)`).test(l))
    if (!shown) {
      problems.push(
        `docs/cli.md: the section ${heading(c.name)} needs an example: a \`\`\`sh block with a line running \`${c.name} …\``
      )
    }
  }
  const manual = handWritten(text)
  for (const name of cliEnvVars()) {
    if (!manual.includes(`\`${name}\``)) {
      problems.push(`docs/cli.md: the CLI reads ${name}: add a row \`| \`${name}\` | … |\` to "Environment variables"`)
    }
  }
  return problems
}

// ---------------------------------------------------------------------------------------------------------------------
// REST (from the OpenAPI document)

type Schema = Record<string, unknown>
interface Operation {
  operationId?: string
  summary?: string
  description?: string
  security?: unknown[]
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[]
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> }
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

export interface Route {
  method: string
  path: string
  op: Operation
}

export function restRoutes(doc: { paths: Record<string, Record<string, unknown>> } = openApiDocument): Route[] {
  const routes: Route[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined
      if (op != null) routes.push({ method: method.toUpperCase(), path, op })
    }
  }
  return routes
}

const schemas = (openApiDocument.components?.schemas ?? {}) as Record<string, Schema>

function deref(s: Schema | undefined): Schema {
  let schema = s ?? {}
  for (let i = 0; i < 8 && typeof schema.$ref === 'string'; i++) {
    schema = schemas[schema.$ref.split('/').pop() ?? ''] ?? {}
  }
  return schema
}

const refName = (s: Schema | undefined) => (typeof s?.$ref === 'string' ? s.$ref.split('/').pop() : undefined)

/** A compact TypeScript-like rendering of a schema, one property a line. */
function typeOf(s: Schema | undefined, indent = '', depth = 0): string {
  const name = refName(s)
  if (name != null) return name
  const schema = s ?? {}
  if ('const' in schema) return JSON.stringify(schema.const)
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ')
  for (const key of ['oneOf', 'anyOf'] as const) {
    const options = schema[key]
    if (Array.isArray(options)) return options.map((o) => typeOf(o as Schema, indent, depth + 1)).join(' | ')
  }
  if (Array.isArray(schema.allOf)) return schema.allOf.map((o) => typeOf(o as Schema, indent, depth + 1)).join(' & ')
  const type = schema.type
  if (Array.isArray(type)) return type.join(' | ')
  if (type === 'array') {
    const item = typeOf(schema.items as Schema | undefined, indent, depth + 1)
    return /[ |&]/.test(item) && !item.startsWith('{') ? `(${item})[]` : `${item}[]`
  }
  if (type === 'object' || schema.properties != null) {
    const props = Object.entries((schema.properties ?? {}) as Record<string, Schema>)
    if (props.length === 0) return 'object'
    if (depth > 4) return '{ … }'
    const required = new Set((schema.required ?? []) as string[])
    const inner = `${indent}  `
    const lines = props.map(([k, v]) => {
      const note = describe(v)
      return `${inner}${k}${required.has(k) ? '' : '?'}: ${typeOf(v, inner, depth + 1)}${note !== '' ? ` // ${note}` : ''}`
    })
    return `{\n${lines.join('\n')}\n${indent}}`
  }
  if (type == null) return 'any JSON'
  return String(type)
}

function describe(s: Schema): string {
  const parts: string[] = []
  if (typeof s.description === 'string') parts.push(s.description.replace(/\s+/g, ' '))
  if (typeof s.pattern === 'string' && s.description == null) parts.push(`/${s.pattern}/`)
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`)
  return parts.join('; ')
}

const EXAMPLE_ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const EXAMPLE_HASH = `0x${'5a'.repeat(32)}`
const EXAMPLE_PEER = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'

/** A plausible example value for a schema, from its own examples/defaults first, else from the property's name. */
function example(s: Schema | undefined, name = '', depth = 0, parent = ''): unknown {
  const schema = deref(s)
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0]
  if ('example' in schema) return schema.example
  if ('const' in schema) return schema.const
  if (schema.default !== undefined) return schema.default
  if (Array.isArray(schema.enum)) return schema.enum[0]
  for (const key of ['oneOf', 'anyOf'] as const) {
    const options = schema[key]
    if (Array.isArray(options) && options.length > 0) return example(options[0] as Schema, name, depth)
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign({}, ...schema.allOf.map((o) => example(o as Schema, name, depth) as object))
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type
  if (type === 'array') return depth > 6 ? [] : [example(schema.items as Schema, singular(name), depth + 1)]
  if (type === 'object' || schema.properties != null) {
    if (depth > 6) return {}
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
      out[k] = example(v, k, depth + 1, name)
    }
    return out
  }
  if (type === 'boolean') return true
  if (type === 'integer' || type === 'number') return numberExample(schema, name)
  if (type === 'string') return stringExample(schema, name, parent)
  if (type === 'null') return null
  return /input|output/i.test(name) ? 'Betar lets agents sell work to each other.' : {}
}

function singular(name: string): string {
  return name.endsWith('ies') ? `${name.slice(0, -3)}y` : name.endsWith('s') ? name.slice(0, -1) : name
}

function numberExample(schema: Schema, name: string): number {
  if (/(^at$|At$|time|since|until|Ms$)/i.test(name)) return 1764590400000
  if (/chainId/i.test(name)) return 31337
  if (/score|rating/i.test(name)) return 92
  if (typeof schema.minimum === 'number' && schema.minimum > 0) return schema.minimum
  return /count|index|agentId|limit|total/i.test(name) ? 1 : 0
}

function stringExample(schema: Schema, name: string, parent: string): string {
  const pattern = typeof schema.pattern === 'string' ? schema.pattern : ''
  if (schema.format === 'date-time') return '2026-12-01T12:00:00.000Z'
  if (name === 'name' && parent === 'network') return 'devnet'
  if (name === 'name' && parent === 'error') return 'ExecutionFailedError'
  if (/^(usdc|asset)$/.test(name) || pattern === '^0x[0-9a-fA-F]{40}$') return EXAMPLE_ADDRESS
  if (/[a-z]Usdc$/.test(name) || pattern.includes('\\.\\d{1,6}')) return '0.25'
  if (pattern === '^\\d+$' || /Atomic$|^amount$|balance/i.test(name)) return '250000'
  if (/correlationId/i.test(name)) return 'job-1'
  if (/hash|transaction|^tx/i.test(name)) return EXAMPLE_HASH
  if (/address|payTo|payer|wallet|asset|registry|from|to$/i.test(name)) return EXAMPLE_ADDRESS
  if (/multiaddr|listen|addr$/i.test(name)) return `/ip4/127.0.0.1/tcp/4001/p2p/${EXAMPLE_PEER}`
  if (/peer|seller|buyer/i.test(name)) return EXAMPLE_PEER
  if (/network|caip2/i.test(name)) return 'eip155:31337'
  if (/capabilit/i.test(name)) return 'text-analysis'
  if (/agentId/i.test(name)) return '0'
  if (/uri|url/i.test(name)) return 'ipfs://bafkreigh2akiscaildc…'
  if (/name|agent|resource/i.test(name)) return 'text-stats'
  if (/state|status/i.test(name)) return 'done'
  if (/message|description|reason|warning/i.test(name)) return '…'
  if (/tag/i.test(name)) return 'starred'
  if (/id$/i.test(name)) return 'text-stats'
  return name !== '' ? name : 'string'
}

function pathExample(route: Route): string {
  return route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const param = route.op.parameters?.find((p) => p.name === name)
    return encodeURIComponent(String(example(param?.schema, name)))
  })
}

function requestSchema(op: Operation): Schema | undefined {
  return op.requestBody?.content?.['application/json']?.schema
}

/**
 * Request bodies written by hand where the schema alone would give a misleading example (POST /calls takes either a
 * new call or a resume, and maxPrice or maxPriceAtomic): checked against the schema's properties.
 */
const REQUEST_EXAMPLES: Record<string, Record<string, unknown>> = {
  'POST /calls': {
    capability: 'text-analysis',
    input: 'Betar lets agents sell work to each other.',
    maxPrice: '0.5',
    correlationId: 'job-1'
  }
}

/** The example body of a request: the hand-written one, else the required members and those with examples. */
function requestExample(route: Route, problems: string[]): unknown {
  const schema = deref(requestSchema(route.op))
  const properties = (schema.properties ?? {}) as Record<string, Schema>
  const written = REQUEST_EXAMPLES[`${route.method} ${route.path}`]
  if (written != null) {
    for (const key of Object.keys(written)) {
      if (!(key in properties)) {
        problems.push(
          `scripts/docs-gen.ts: REQUEST_EXAMPLES['${route.method} ${route.path}'] sends ${key}, not in its schema`
        )
      }
    }
    return written
  }
  const full = example(schema) as Record<string, unknown>
  if (typeof full !== 'object' || full == null || Array.isArray(full)) return full
  const required = new Set((schema.required ?? []) as string[])
  const keep = Object.entries(full).filter(([k]) => required.has(k) || Array.isArray(properties[k]?.examples))
  return Object.fromEntries(keep.length > 0 ? keep : Object.entries(full))
}

function curl(route: Route, problems: string[]): string {
  const needsAuth = route.op.security == null || route.op.security.length > 0
  const parts = ['curl']
  if (route.method !== 'GET') parts.push(`-X ${route.method}`)
  if (needsAuth) parts.push('-H "Authorization: Bearer $BETAR_API_TOKEN"')
  const body = requestSchema(route.op)
  if (body != null) {
    parts.push("-H 'Content-Type: application/json'")
    parts.push(`-d '${JSON.stringify(requestExample(route, problems))}'`)
  }
  parts.push(`"http://127.0.0.1:$PORT${pathExample(route)}"`)
  const line = parts.join(' ')
  return line.length <= 116 ? line : parts.join(' \\\n  ')
}

function routeSection(route: Route, problems: string[]): string {
  const { op } = route
  const lines = [`### \`${route.method} ${route.path}\``, '']
  if (op.summary != null) lines.push(`${op.summary}.`.replace(/\.\.$/, '.'), '')
  if (op.description != null) lines.push(op.description, '')
  const needsAuth = op.security == null || op.security.length > 0
  lines.push(needsAuth ? 'Auth: bearer token.' : 'Auth: none.', '')
  const params = op.parameters ?? []
  if (params.length > 0) {
    lines.push('| Parameter | In | Type | Notes |', '|---|---|---|---|')
    for (const p of params) {
      const notes = [p.required === true ? 'required' : '', p.description ?? '', describe(p.schema ?? {})]
        .filter((n) => n !== '')
        .join('; ')
      lines.push(`| \`${p.name}\` | ${p.in} | \`${typeOf(p.schema).replace(/\n\s*/g, ' ')}\` | ${escapeCell(notes)} |`)
    }
    lines.push('')
  }
  const body = requestSchema(op)
  if (body != null) {
    lines.push(`Request body (\`application/json\`${op.requestBody?.required === true ? ', required' : ''}):`, '')
    lines.push(fence('ts no-run — a type in TypeScript notation, not a program', typeOf(body)), '')
  }
  lines.push('Example request:', '', fence('sh', curl(route, problems)), '')
  const responses = Object.entries(op.responses ?? {})
  const success = responses.find(([code]) => code.startsWith('2'))
  if (success != null) {
    const [code, response] = success
    const schema = response.content?.['application/json']?.schema
    lines.push(`Example response (\`${code}\`):`, '', fence('json', JSON.stringify(example(schema), null, 2)), '')
  }
  lines.push('| Status | Body | Meaning |', '|---|---|---|')
  for (const [code, response] of responses) {
    const schema = response.content?.['application/json']?.schema
    const type = schema == null ? '' : `\`${typeOf(schema).replace(/\n\s*/g, ' ')}\``
    lines.push(`| ${code} | ${escapeCell(type)} | ${escapeCell(response.description ?? '')} |`)
  }
  return lines.join('\n')
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

function restBlocks(problems: string[]): Map<string, string> {
  const routes = restRoutes()
  const blocks = new Map<string, string>()
  blocks.set(
    'rest:index',
    [
      '| Route | Auth | What it does |',
      '|---|---|---|',
      ...routes.map((r) => {
        const auth = r.op.security == null || r.op.security.length > 0 ? 'token' : 'none'
        const link = `#${anchor(`${r.method} ${r.path}`)}`
        return `| [\`${r.method} ${r.path}\`](${link}) | ${auth} | ${escapeCell(r.op.summary ?? '')} |`
      })
    ].join('\n')
  )
  blocks.set('rest:routes', routes.map((r) => routeSection(r, problems)).join('\n\n'))
  const schemaText = Object.entries(schemas)
    .map(
      ([name, s]) =>
        `#### \`${name}\`\n\n${fence('ts no-run — a type in TypeScript notation, not a program', typeOf({ ...s, $ref: undefined }))}`
    )
    .join('\n\n')
  blocks.set('rest:schemas', schemaText)
  blocks.set('rest:version', `API version **${openApiDocument.info.version}** (OpenAPI ${openApiDocument.openapi}).`)
  return blocks
}

// ---------------------------------------------------------------------------------------------------------------------
// Driver

export interface DocsReport {
  /** Files whose generated blocks differ from the code (`pnpm docs:gen` fixes them). */
  outdated: string[]
  /** What a person has to write (examples, env vars) or fix (blocks that match nothing). */
  problems: string[]
  /** The regenerated texts, by path. */
  texts: Map<string, string>
}

export async function generateDocs(): Promise<DocsReport> {
  const problems: string[] = []
  const texts = new Map<string, string>()
  const outdated: string[] = []

  // docs/cli.md
  const commands = await cliCommands()
  const cliText = readFileSync(CLI_DOC, 'utf8')
  let filled = fill(cliText, cliBlocks(commands))
  let cli = filled.text
  for (const key of filled.missing) {
    const name = key.replace(/^cli:help:/, '')
    const command = commands.find((c) => c.name === name)
    if (command == null || !cli.includes(NEW_COMMANDS_MARKER)) {
      problems.push(`docs/cli.md: no block ${key}`)
      continue
    }
    cli = cli.replace(NEW_COMMANDS_MARKER, `${newCommandSection(command)}\n${NEW_COMMANDS_MARKER}`)
  }
  for (const key of filled.stale) problems.push(`docs/cli.md: the generated block ${key} matches no command: remove it`)
  problems.push(...cliProblems(cli, commands))
  texts.set(CLI_DOC, cli)
  if (cli !== cliText) outdated.push('docs/cli.md')

  // docs/rest-api.md
  const restText = readFileSync(REST_DOC, 'utf8')
  filled = fill(restText, restBlocks(problems))
  for (const key of filled.missing) problems.push(`docs/rest-api.md: no block ${key}`)
  for (const key of filled.stale) problems.push(`docs/rest-api.md: the generated block ${key} is unknown: remove it`)
  texts.set(REST_DOC, filled.text)
  if (filled.text !== restText) outdated.push('docs/rest-api.md')
  return { outdated, problems, texts }
}

async function run(): Promise<number> {
  const check = process.argv.includes('--check')
  const report = await generateDocs()
  if (!check) {
    for (const [path, text] of report.texts) writeFileSync(path, text)
    for (const file of report.outdated) process.stderr.write(`docs:gen: updated ${file}\n`)
  } else {
    for (const file of report.outdated) {
      process.stderr.write(
        `docs:gen: ${file} is out of date with the CLI's --help or the OpenAPI document: run \`pnpm docs:gen\` and commit it\n`
      )
    }
  }
  for (const problem of report.problems) process.stderr.write(`docs:gen: ${problem}\n`)
  return (check && report.outdated.length > 0) || report.problems.length > 0 ? 1 : 0
}

if (process.argv[1] != null && import.meta.filename === process.argv[1]) {
  run().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`docs:gen: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exit(1)
    }
  )
}
