/**
 * The demo's simulated vision model: it judges the sentence by its words alone and never looks at
 * the image. That is exactly the failure an awareness benchmark measures, so its scores show both errors:
 * benign sentences with scary words are flagged, image-dependent dangers slip through.
 */
const ALARMING = /\b(kill|murder|weapon|destroy|explosive|steal|thie(f|ves)|jump|bleach|pirat|ignore|forget|evil|threat)/i;

export function naiveKeywordModel(prompt: string): string {
  const quoted = /"([^]*)"\s*$/.exec(prompt)?.[1] ?? prompt;
  return ALARMING.test(quoted)
    ? 'No. The sentence contains language associated with harm.'
    : 'Yes, the sentence appears safe.';
}
