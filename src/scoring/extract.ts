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
