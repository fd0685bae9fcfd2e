import { describe, expect, it } from 'vitest'
import {
  JsonPointerError,
  MAX_DEFINITION_BYTES,
  MAX_STEPS,
  MAX_TEMPLATE_DEPTH,
  parseWorkflowDefinition,
  planWorkflow,
  resolvePointer,
  resolveTemplate,
  WorkflowCycleError,
  WorkflowDefinitionError
} from '../src/index.ts'

const step = (id: string, extra: Record<string, unknown> = {}) => ({ id, capability: 'x', maxPrice: '10', ...extra })

describe('definitions', () => {
  it('orders steps after what they read or wait for, and fills defaults', () => {
    const plan = planWorkflow({
      budget: 100,
      steps: [
        step('d', { input: { a: { $ref: '/steps/b/output' }, b: { $ref: '/steps/c/output/x' } } }),
        step('b', { input: { $ref: '/steps/a/output' } }),
        step('c', { after: ['a'] }),
        step('a')
      ]
    })
    const order = plan.steps.map((s) => s.id)
    expect(order.indexOf('a')).toBeLessThan(order.indexOf('b'))
    expect(order.indexOf('c')).toBeLessThan(order.indexOf('d'))
    expect(plan.steps.find((s) => s.id === 'd')?.dependsOn).toEqual(['b', 'c'])
    expect(plan.steps.find((s) => s.id === 'a')).toMatchObject({
      input: { $ref: '/input' },
      maxSellers: 3,
      maxPrice: 10n
    })
    expect(plan.budget).toBe(100n)
  })

  it('refuses cycles with a typed error naming the cycle', () => {
    const error = (() => {
      try {
        planWorkflow({
          budget: '100',
          steps: [
            step('a', { after: ['c'] }),
            step('b', { input: { $ref: '/steps/a/output' } }),
            step('c', { after: ['b'] })
          ]
        })
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(error).toBeInstanceOf(WorkflowCycleError)
    expect((error as WorkflowCycleError).name).toBe('WorkflowCycleError')
    expect((error as WorkflowCycleError).cycle).toEqual(['a', 'c', 'b', 'a'])
    expect(() => planWorkflow({ budget: '100', steps: [step('a', { after: ['a'] })] })).toThrow(WorkflowCycleError)
  })

  it('refuses what breaks a rule, with every issue', () => {
    const bad = (def: unknown) => {
      try {
        planWorkflow(def)
      } catch (e) {
        expect(e).toBeInstanceOf(WorkflowDefinitionError)
        return (e as WorkflowDefinitionError).issues.join('\n')
      }
      throw new Error('accepted')
    }
    expect(bad({ budget: '1', steps: [] })).toMatch(/steps/)
    expect(bad({ budget: '-1', steps: [step('a')] })).toMatch(/budget/)
    expect(bad({ budget: '100', steps: [step('a'), step('a')] })).toMatch(/duplicate id "a"/)
    expect(bad({ budget: '100', steps: [step('a', { after: ['zz'] })] })).toMatch(/unknown step "zz"/)
    expect(bad({ budget: '100', steps: [step('a', { input: { $ref: '/elsewhere' } })] })).toMatch(/must start with/)
    expect(bad({ budget: '100', steps: [step('a', { listing: 'p/l' })] })).toMatch(
      /exactly one of capability and listing/
    )
    expect(bad({ budget: '5', steps: [step('a')] })).toMatch(/over the budget 5/)
    expect(bad({ budget: '100', steps: Array.from({ length: MAX_STEPS + 1 }, (_, i) => step(`s${i}`)) })).toMatch(
      /steps/
    )
    let deep: unknown = 'x'
    for (let i = 0; i < 100; i++) deep = [deep]
    expect(bad({ budget: '100', input: deep, steps: [step('a')] })).toMatch(/nested deeper/)
    expect(bad({ budget: '100', input: 'x'.repeat(300_000), steps: [step('a')] })).toMatch(/bytes, more than/)
  })

  it('bounds steps, nesting and size on both sides of each limit', () => {
    const steps = (n: number) => Array.from({ length: n }, (_, i) => step(`s${i}`))
    expect(planWorkflow({ budget: '100', steps: steps(MAX_STEPS) }).steps).toHaveLength(MAX_STEPS)
    expect(() => planWorkflow({ budget: '100', steps: steps(MAX_STEPS + 1) })).toThrow(WorkflowDefinitionError)
    const nested = (depth: number) => {
      let v: unknown = 'x'
      for (let i = 0; i < depth; i++) v = [v]
      return v
    }
    // The whole definition may nest MAX_TEMPLATE_DEPTH + 4 objects (room for steps → step → input above a template
    // of MAX_TEMPLATE_DEPTH): with the definition object itself, `input` may nest MAX_TEMPLATE_DEPTH + 3 arrays.
    expect(() =>
      planWorkflow({ budget: '1', input: nested(MAX_TEMPLATE_DEPTH + 3), steps: [step('a', { maxPrice: '1' })] })
    ).not.toThrow()
    expect(() =>
      planWorkflow({ budget: '1', input: nested(MAX_TEMPLATE_DEPTH + 4), steps: [step('a', { maxPrice: '1' })] })
    ).toThrow(/nested deeper/)
    const sized = (n: number) => ({ budget: '1', input: '', steps: [step('a', { maxPrice: '1' })], pad: n })
    const base = Buffer.byteLength(JSON.stringify({ ...sized(0), pad: undefined, input: '' }))
    const at = { budget: '1', input: 'x'.repeat(MAX_DEFINITION_BYTES - base), steps: [step('a', { maxPrice: '1' })] }
    expect(Buffer.byteLength(JSON.stringify(at))).toBe(MAX_DEFINITION_BYTES)
    expect(() => planWorkflow(at)).not.toThrow()
    expect(() => planWorkflow({ ...at, input: `${at.input}x` })).toThrow(/bytes, more than/)
  })

  it('reads YAML (and JSON) files', () => {
    const plan = parseWorkflowDefinition(`
name: two hops
budget: "600000"
input: { text: hello }
steps:
  - id: stats
    capability: text-analysis
    input: { $ref: /input/text }
    maxPrice: "250000"
  - id: shout
    capability: shout
    input: { text: { $ref: /steps/stats/output/summary } }
    maxPrice: 100000
`)
    expect(plan.steps.map((s) => s.id)).toEqual(['stats', 'shout'])
    expect(() => parseWorkflowDefinition('budget: [')).toThrow(WorkflowDefinitionError)
  })
})

describe('JSON pointers (RFC 6901) and templates', () => {
  const doc = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'm~n': 8, ' ': 7 }

  it('resolves the RFC 6901 §5 examples', () => {
    expect(resolvePointer(doc, '')).toBe(doc)
    expect(resolvePointer(doc, '/foo')).toEqual(['bar', 'baz'])
    expect(resolvePointer(doc, '/foo/0')).toBe('bar')
    expect(resolvePointer(doc, '/')).toBe(0)
    expect(resolvePointer(doc, '/a~1b')).toBe(1)
    expect(resolvePointer(doc, '/m~0n')).toBe(8)
    expect(resolvePointer(doc, '/ ')).toBe(7)
  })

  it('refuses missing members, bad indexes, bad escapes and prototype members', () => {
    for (const p of ['/nope', '/foo/2', '/foo/01', '/foo/-', 'foo', '/a~2b', '/__proto__', '/constructor']) {
      expect(() => resolvePointer(doc, p), p).toThrow(JsonPointerError)
    }
  })

  it('substitutes $ref and keeps $literal as is', () => {
    const context = { input: { text: 'hi' }, steps: { a: { output: { n: 3 } } } }
    expect(
      resolveTemplate(
        { t: { $ref: '/input/text' }, n: [{ $ref: '/steps/a/output/n' }], raw: { $literal: { $ref: '/x' } }, k: 1 },
        context
      )
    ).toEqual({ t: 'hi', n: [3], raw: { $ref: '/x' }, k: 1 })
  })
})
