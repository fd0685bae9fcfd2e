/** Upper-cases text, and fails (after it was paid) on the input "fail". */
export default async function picky(input) {
  if (input === 'fail') throw new Error('refusing to work on this input')
  return { upper: String(input).toUpperCase() }
}
