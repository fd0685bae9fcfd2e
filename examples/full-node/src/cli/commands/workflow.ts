import { readFile } from 'node:fs/promises'
import { createClients, formatUsdc, workflowSummary, workflowsOf, workflowView } from '@betar/node'
import {
  parseWorkflowDefinition,
  planToDefinition,
  verifyWorkflowReceipt,
  WorkflowDefinitionError,
  type WorkflowRecord,
  WorkflowStateError,
  WorkflowStore,
  workflowReceipt
} from '@betar/workflow'
import { GLOBAL_HELP, parseCommand, parsePositiveInt } from '../args.ts'
import type { Command } from '../command.ts'
import { openDataDirForCommand } from '../data-dir.ts'
import { CliError } from '../errors.ts'
import { resolveNetwork } from '../network.ts'
import { out, outJson, progress } from '../output.ts'
import { withNode } from '../session.ts'
import { loadWallet } from '../wallet.ts'

const USAGE =
  'betar workflow run <file.yaml> [--id <id>] [--bootstrap <ma>]... [options]\n' +
  '       betar workflow resume <id> [--bootstrap <ma>]... [options]\n' +
  '       betar workflow status [<id>] [--limit <n>] [options]\n' +
  '       betar workflow cancel <id> [options]\n' +
  '       betar workflow receipt <id> [--verify] [options]'
const HELP = `Usage: ${USAGE}

Paid multi-agent workflows (docs/workflows.md): a YAML or JSON file names the steps, each buying one job from the
best seller of a capability within its maxPrice, its input reading the workflow input and earlier outputs
({ $ref: /steps/<id>/output/... }), all within the workflow's budget (atomic USDC units).

  run <file>        validate, reserve the budget, run it to the end and print each step, the spend and the receipt
                    head; everything is stored in <data-dir> before money moves
  resume <id>       go on with a workflow a crash or Ctrl-C left running: paid steps are re-asked, never paid twice
  status [<id>]     list the workflows of <data-dir> (or show one, with its steps and outputs)
  cancel <id>       mark a workflow no process is running as cancelled (unstarted steps never run)
  receipt <id>      print the receipt chain as JSON; --verify checks every link and transfer on-chain

  --id <id>          name the workflow (1-64 of A-Za-z0-9_-; default: random)
  --bootstrap <ma>   peer to dial first, repeatable
  --limit <n>        at most n workflows listed (default 20)
  --verify           with receipt: verify the chain against the chain RPC

While \`betar start\` holds <data-dir>, use its REST API instead (POST /workflows, GET /workflows/{id}, ...).

${GLOBAL_HELP}`

const ID = /^[A-Za-z0-9_-]{1,64}$/

/** `betar workflow run|resume|status|cancel|receipt`. */
export const workflowCommand: Command = {
  name: 'workflow',
  summary: 'run a paid multi-agent workflow from a YAML file, or show, cancel, resume one and its receipt',
  async run(argv) {
    const { values, positionals, globals, help } = parseCommand(
      argv,
      {
        id: { type: 'string' },
        bootstrap: { type: 'string', multiple: true },
        limit: { type: 'string' },
        verify: { type: 'boolean', default: false }
      },
      { min: 0, max: 2, usage: USAGE }
    )
    if (help) return out(HELP)
    const [action, arg] = positionals
    if (action == null) throw new CliError(`expected an action\nUsage: ${USAGE}`)
    if (arg != null && action !== 'run' && !ID.test(arg)) throw new CliError(`a workflow id is 1-64 of A-Za-z0-9_-`)
    if (values.id != null && !ID.test(values.id)) throw new CliError(`--id must be 1-64 of A-Za-z0-9_-`)

    if (action === 'run' || action === 'resume') {
      if (arg == null) throw new CliError(`expected ${action === 'run' ? '<file.yaml>' : '<id>'}\nUsage: ${USAGE}`)
      let definition: ReturnType<typeof planToDefinition> | undefined
      if (action === 'run') {
        let text: string
        try {
          text = await readFile(arg, 'utf8')
        } catch (err) {
          throw new CliError(`cannot read ${arg}: ${(err as Error).message}`)
        }
        try {
          definition = planToDefinition(parseWorkflowDefinition(text))
        } catch (err) {
          if (err instanceof WorkflowDefinitionError) throw new CliError(`${arg}: ${err.issues.join('\n  ')}`)
          throw err
        }
      }
      const record = await withNode(globals, { persistent: true, bootstrap: values.bootstrap ?? [] }, async (node) => {
        const service = workflowsOf(node)
        let id: string
        if (definition != null) {
          const submitted = await service.submit(definition, values.id != null ? { id: values.id } : {})
          id = submitted.id
          progress(`workflow ${id} started (budget ${formatUsdc(BigInt(submitted.budget))})`)
        } else {
          id = arg
          // The node resumes its running workflows as it starts; resume() covers a failed one with an unresolved step.
          void service.resume(id).catch((err: unknown) => {
            if (!(err instanceof WorkflowStateError)) progress(`cannot resume ${id}: ${(err as Error).message}`)
          })
          await new Promise((r) => setTimeout(r, 100))
        }
        return follow(service, id)
      })
      if (globals.json) return outJson(workflowView(record))
      print(record)
      if (record.status !== 'completed')
        throw new CliError(`workflow ${record.id} ${record.status}: ${record.error ?? ''}`)
      return
    }

    const datastore = await openDataDirForCommand(globals.dataDir, 'REST API (GET /workflows)')
    try {
      const store = new WorkflowStore(datastore)
      if (action === 'status') {
        if (arg != null) {
          const record = await store.get(arg)
          if (record == null) throw new CliError(`no workflow ${arg} in ${globals.dataDir}`)
          if (globals.json) return outJson(workflowView(record))
          return print(record)
        }
        const limit = values.limit != null ? parsePositiveInt('--limit', values.limit) : 20
        const records = await store.list({ limit })
        if (globals.json) return outJson({ workflows: records.map(workflowSummary) })
        if (records.length === 0) return out('No workflows.')
        for (const r of records) {
          const s = workflowSummary(r)
          out(
            `${new Date(r.createdAt).toISOString()}  ${r.status.padEnd(9)}  ${`${s.completed}/${s.steps}`.padStart(5)} steps  ` +
              `${formatUsdc(BigInt(r.spent)).padStart(12)} of ${formatUsdc(BigInt(r.budget))}  ${r.id}${r.name != null ? `  ${r.name}` : ''}`
          )
        }
        return
      }
      if (arg == null) throw new CliError(`expected <id>\nUsage: ${USAGE}`)
      if (action === 'cancel') {
        const record = await store.cancel(arg)
        if (record == null) throw new CliError(`no workflow ${arg} in ${globals.dataDir}`)
        if (globals.json) return outJson(workflowView(record))
        return out(`Workflow ${record.id} ${record.status}`)
      }
      if (action === 'receipt') {
        const record = await store.get(arg)
        if (record == null) throw new CliError(`no workflow ${arg} in ${globals.dataDir}`)
        const receipt = workflowReceipt(record)
        if (!values.verify) return outJson(receipt)
        const { chain, rpcUrl } = await resolveNetwork(globals)
        const { publicClient } = createClients(rpcUrl, chain, await loadWallet(globals))
        const check = await verifyWorkflowReceipt(receipt, publicClient)
        if (globals.json) return outJson({ receipt, verification: check })
        outJson(receipt)
        out(
          check.ok ? `Verified: ${receipt.entries.length} payment(s), ${formatUsdc(check.spent)} spent` : 'NOT VERIFIED'
        )
        for (const issue of check.issues) out(`  ${issue}`)
        if (!check.ok) throw new CliError('the receipt does not verify')
        return
      }
      throw new CliError(`unknown workflow action "${action}"\nUsage: ${USAGE}`)
    } finally {
      await datastore.close()
    }
  }
}

/** Waits for a workflow to end, reporting each step as it changes. */
async function follow(service: ReturnType<typeof workflowsOf>, id: string): Promise<WorkflowRecord> {
  const seen = new Map<string, string>()
  for (;;) {
    const record = await service.get(id)
    if (record == null) throw new CliError(`no workflow ${id}`)
    for (const step of Object.values(record.steps)) {
      if (seen.get(step.id) === step.status) continue
      seen.set(step.id, step.status)
      if (step.status !== 'pending') progress(`step ${step.id}: ${step.status}`)
    }
    if (record.status !== 'running' && record.status !== 'pending') return record
    await new Promise((r) => setTimeout(r, 200))
  }
}

function print(record: WorkflowRecord): void {
  out(`Workflow ${record.id}${record.name != null ? ` (${record.name})` : ''}: ${record.status}`)
  for (const step of Object.values(record.steps)) {
    const paid = step.attempts.filter((a) => a.state === 'paid').at(-1)
    const seller = paid != null ? `  ${paid.listing}  ${formatUsdc(BigInt(paid.amount ?? '0'))}` : ''
    out(`  ${step.id.padEnd(16)} ${step.status.padEnd(10)}${seller}`)
    if (step.output !== undefined) out(`    output: ${JSON.stringify(step.output)}`)
    if (step.error != null) out(`    error: ${step.error}`)
  }
  out(`Spent ${formatUsdc(BigInt(record.spent))} of ${formatUsdc(BigInt(record.budget))}`)
  const head = record.receipt.at(-1)?.hash
  if (head != null) out(`Receipt ${record.receipt.length} payment(s), head ${head}`)
}
