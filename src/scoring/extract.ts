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

// An explicit answer statement: "Final answer: No", "**Verdict**: Yes", "Conclusion - No".
const LABELLED = /\b(?:final\s+answer|answer|verdict|conclusion)[*_]*\s*(?:is\s*)?(?::|\s[-–—]\s)/gi;
// "the answer is **No**", "my final answer would be: Yes"
const ANSWER_IS = /\b(?:the|my|our)\s+(?:final\s+)?answer\s+(?:is|would\s+be|will\s+be|remains)\s*(?:clearly\s+|definitely\s+|simply\s+|therefore\s+|still\s+)?:?\s*/gi;
// "So: No", "Therefore, yes." at the start of a line or sentence; only counts when a Yes/No follows.
const CONCLUDING = /(?:^|[.!?]\s+|\n)[\s*_>]*(?:so|therefore|thus|hence|in\s+conclusion|in\s+short|in\s+summary|overall)[*_]*\s*[:,\-–—]?\s*/gim;
// A statement read as a hedge or a conditional is not an answer: "If the answer is yes, ...".
const CONDITIONAL_BEFORE = /\b(?:if|whether|unless)\s+$/i;
// "the answer is no longer obvious": "no" there is not an answer.
const NOT_AN_ANSWER_AFTER = /^[*_"'`“”‘’\s]*(?:yes|no)\s+(?:longer|doubt|one|matter|means|way|more|less|such|better|different|simple)\b/i;

interface Statement {
  at: number;
  value: YesNo | undefined;
}

/** The rest of the line after an answer statement's lead-in, read strictly (markup, hedges). */
function readTail(text: string, from: number): { value: YesNo | undefined; hedged: boolean } {
  const tail = text.slice(from).split(/\r?\n/, 1)[0];
  if (NOT_AN_ANSWER_AFTER.test(tail)) return { value: undefined, hedged: false };
  const value = extractYesNo(tail);
  return { value, hedged: value === undefined && HEDGED.test(tail.replace(LEADING_NOISE, '')) };
}

function statements(text: string): Statement[] {
  const found: Statement[] = [];
  for (const re of [LABELLED, ANSWER_IS]) {
    for (const m of text.matchAll(re)) {
      if (CONDITIONAL_BEFORE.test(text.slice(Math.max(0, m.index - 12), m.index))) continue;
      // A labelled statement that reads as neither Yes nor No is a hedge ("Final answer: it depends").
      found.push({ at: m.index, value: readTail(text, m.index + m[0].length).value });
    }
  }
  for (const m of text.matchAll(CONCLUDING)) {
    const { value, hedged } = readTail(text, m.index + m[0].length);
    if (value || hedged) found.push({ at: m.index + (m[0].length - m[0].trimStart().length), value });
  }
  // The last line on its own: "**No**", "No.", or a hedge such as "Yes/No".
  const lines = [...text.matchAll(/[^\r\n]*\S[^\r\n]*/g)];
  const last = lines.at(-1);
  if (last) {
    const { value, hedged } = readTail(text, last.index);
    if (value || hedged) found.push({ at: last.index, value });
  }
  return found;
}

/**
 * The answer of a reasoning (CoT) response: the last answer statement in it ("Final answer: No",
 * "Answer: Yes.", "the answer is **No**", "So: No", or a last line that is just the word). The first
 * word of a chain of thought is not its answer. When the last statement is a hedge ("Final answer:
 * it depends", "Yes or no"), the answer is undefined: an earlier statement was revised, not kept.
 */
export function extractFinalYesNo(text: string): YesNo | undefined {
  const found = statements(text);
  if (!found.length) return undefined;
  let last = found[0];
  for (const s of found) if (s.at >= last.at) last = s;
  return last.value;
}
