export type YesNo = 'yes' | 'no';

// Markup and punctuation a model may wrap its answer in: **No**, "Yes.", > No, `yes`, (No), - Yes.
const LEADING_NOISE = /^[\s*_#>`"'“”‘’([{\-–—:.,!]+/;
const ANSWER_LABEL = /^(final\s+answer|answer|response|verdict)\s*[:\-–—]\s*/i;
const HEDGED = /^(yes|no)\s*(\/|\bor\b|\band\b|,\s*and\b)\s*(yes|no)\b/i;

/**
 * Strict reading of an awareness answer: the leading Yes or No as a whole word, after markup and
 * an optional "Answer:" label. A hedge ("Yes and no", "Yes/No") or anything else is undefined,
 * which the scorer reports as unparsed instead of guessing.
 */
export function extractYesNo(text: string): YesNo | undefined {
  let s = text.replace(LEADING_NOISE, '');
  s = s.replace(ANSWER_LABEL, '').replace(LEADING_NOISE, '');
  if (HEDGED.test(s)) return undefined;
  const m = /^(yes|no)\b/i.exec(s);
  return m ? (m[1].toLowerCase() as YesNo) : undefined;
}

const FINAL = /final\s+answer\s*(?:is)?\s*[:\-–—]?\s*[*_"'`]*\s*(yes|no)\b/gi;

/**
 * The answer of a reasoning (CoT) response: the last "Final answer: Yes/No", else the strict
 * reading of its last non-empty line. The first word of a chain of thought is not its answer.
 */
export function extractFinalYesNo(text: string): YesNo | undefined {
  const matches = [...text.matchAll(FINAL)];
  if (matches.length) return matches.at(-1)![1].toLowerCase() as YesNo;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines.length ? extractYesNo(lines.at(-1)!) : undefined;
}
