/** A workflow definition breaks a rule (shape, size, unknown step, bad pointer). `issues` names each failing path. */
export class WorkflowDefinitionError extends Error {
  static override name = 'WorkflowDefinitionError'
  readonly issues: string[]

  constructor(issues: string[]) {
    super(`invalid workflow definition: ${issues.join('; ')}`)
    this.name = 'WorkflowDefinitionError'
    this.issues = issues
  }
}

/** The steps' dependencies form a cycle: `cycle` lists the step ids around it (the first repeated at the end). */
export class WorkflowCycleError extends WorkflowDefinitionError {
  static override name = 'WorkflowCycleError'
  readonly cycle: string[]

  constructor(cycle: string[]) {
    super([`steps depend on each other in a cycle: ${cycle.join(' → ')}`])
    this.name = 'WorkflowCycleError'
    this.cycle = cycle
  }
}

/** A step's resolved input does not match the chosen listing's `inputSchema` (checked before anything is paid). */
export class StepInputError extends Error {
  static override name = 'StepInputError'
  readonly stepId: string
  readonly errors: string[]

  constructor(stepId: string, errors: string[]) {
    super(`step ${stepId}: input does not match the listing's schema: ${errors.join('; ')}`)
    this.name = 'StepInputError'
    this.stepId = stepId
    this.errors = errors
  }
}

/**
 * The workflow's budget cannot be reserved: it exceeds what the node's x402 spending budget has left once other running
 * workflows' reservations are counted, or the steps' caps cannot fit the total. Nothing was paid.
 */
export class WorkflowBudgetError extends Error {
  static override name = 'WorkflowBudgetError'

  constructor(message: string) {
    super(message)
    this.name = 'WorkflowBudgetError'
  }
}

/** No seller offers a step's capability (or listing) within its cap and what is left of the workflow budget. */
export class NoSellerError extends Error {
  static override name = 'NoSellerError'
  readonly stepId: string

  constructor(stepId: string, message: string) {
    super(`step ${stepId}: ${message}`)
    this.name = 'NoSellerError'
    this.stepId = stepId
  }
}

/** Every seller tried for a step failed; `attempts` says how (nothing paid stays unaccounted: see the step record). */
export class StepFailedError extends Error {
  static override name = 'StepFailedError'
  readonly stepId: string
  readonly attempts: string[]

  constructor(stepId: string, attempts: string[]) {
    super(`step ${stepId} failed: ${attempts.join('; ')}`)
    this.name = 'StepFailedError'
    this.stepId = stepId
    this.attempts = attempts
  }
}

/** No workflow with this id is stored. */
export class WorkflowNotFoundError extends Error {
  static override name = 'WorkflowNotFoundError'
  readonly workflowId: string

  constructor(workflowId: string) {
    super(`no workflow ${workflowId}`)
    this.name = 'WorkflowNotFoundError'
    this.workflowId = workflowId
  }
}

/** The workflow is already being run by this node (one runner per workflow), or has ended and cannot run again. */
export class WorkflowStateError extends Error {
  static override name = 'WorkflowStateError'
  readonly workflowId: string

  constructor(workflowId: string, message: string) {
    super(`workflow ${workflowId}: ${message}`)
    this.name = 'WorkflowStateError'
    this.workflowId = workflowId
  }
}

/** The workflow service is not started (or was stopped). */
export class WorkflowServiceStoppedError extends Error {
  static override name = 'WorkflowServiceStoppedError'

  constructor(message = 'the workflow service is not running') {
    super(message)
    this.name = 'WorkflowServiceStoppedError'
  }
}
