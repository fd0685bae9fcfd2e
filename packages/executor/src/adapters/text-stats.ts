import type { Executor } from '../types.ts'

/** What {@link textStatsExecutor} returns. */
export interface TextStats {
  /** The input text (truncated to 1000 characters). */
  echo: string
  words: number
  characters: number
  sentences: number
  /** Up to five most frequent words of 4+ letters, by count then alphabetically. */
  keywords: string[]
  /** The first sentence, cut to 200 characters. */
  summary: string
}

/**
 * A deterministic local agent, used when no LLM is configured (`kind: 'echo'`): counts words, characters and
 * sentences of the input text, extracts keywords and a one-sentence summary. Non-string input is JSON-encoded first.
 */
export function textStatsExecutor(): Executor {
  return {
    execute: async (input) => analyzeText(typeof input === 'string' ? input : JSON.stringify(input ?? null))
  }
}

/** The statistics of a text (see {@link textStatsExecutor}). */
export function analyzeText(text: string): TextStats {
  const words = text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? []
  const sentences = text
    .split(/(?<=[.!?])\s+/u)
    .map((s) => s.trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s))
  const counts = new Map<string, number>()
  for (const word of words) {
    const w = word.toLowerCase()
    if (w.length >= 4) counts.set(w, (counts.get(w) ?? 0) + 1)
  }
  const keywords = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, 5)
    .map(([w]) => w)
  const first = sentences[0] ?? ''
  return {
    echo: text.length > 1000 ? `${text.slice(0, 1000)}…` : text,
    words: words.length,
    characters: [...text].length,
    sentences: sentences.length,
    keywords,
    summary: first.length > 200 ? `${first.slice(0, 199)}…` : first
  }
}
