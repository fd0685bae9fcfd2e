import type { AgentConfig } from '@betar/executor'

/**
 * The agent the demo sells: the deterministic offline text analyser, or a Gemini agent through Google ADK when
 * `GOOGLE_API_KEY` is set.
 */
export function demoAgent(env: Record<string, string | undefined> = process.env): AgentConfig {
  const base = {
    description: 'Analyses a text: word, character and sentence counts, keywords and a one-line summary',
    capabilities: ['text-analysis'],
    price: { amount: '250000' }
  }
  if (env.GOOGLE_API_KEY != null && env.GOOGLE_API_KEY !== '') {
    return {
      ...base,
      name: 'gemini-analyst',
      timeoutMs: 60_000,
      executor: {
        kind: 'adk',
        model: 'gemini-2.0-flash',
        instruction: 'Analyse the text you are given: summarise it in one sentence and list its five main keywords.'
      }
    }
  }
  return { ...base, name: 'text-stats', executor: { kind: 'echo' } }
}
