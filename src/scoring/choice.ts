// Reading a multiple-choice answer: which option letter the model chose. Pure; an answer with no
// readable letter is undefined (scored wrong and reported as unparsed, never replaced by a guess).

const LEADING_NOISE = /^[\s*_#>`"'“”‘’[{\-–—:.,!]+/;
const ANSWER_LABEL = /^(final\s+answer|answer|option|choice)\s*(is\s*)?[:\-–—]?\s*/i;
// "The answer is (B)", "Answer: C", "option D" anywhere; the last such statement wins.
const STATED = /\b(?:answer|option|choice)\s*(?:is\s*)?[:\-–—]?\s*\(?([A-Z])\)?(?![A-Za-z])/g;

/** The option letter an answer chose among `letters` ("A", "B", ...), or undefined. */
export function extractChoice(text: string, letters: readonly string[]): string | undefined {
  const allowed = new Set(letters.map((l) => l.toUpperCase()));
  const head = text.replace(LEADING_NOISE, '').replace(ANSWER_LABEL, '').replace(LEADING_NOISE, '');
  // A leading letter on its own: "B", "(B)", "B.", "B) Because...", "**B**".
  const lead = /^\(?([A-Z])(?:[).:\s*_]|$)/.exec(head);
  if (lead && allowed.has(lead[1])) return lead[1];
  let last: string | undefined;
  for (const m of text.matchAll(STATED)) if (allowed.has(m[1])) last = m[1];
  return last;
}

/** Option letters for n options: A, B, C, ... */
export const optionLetters = (n: number): string[] => Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
