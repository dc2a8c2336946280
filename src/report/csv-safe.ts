/**
 * CSV formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that begins with `=`,
 * `+`, `-` or `@` (and tab- or CR-led cells) as a formula, and model answers are untrusted. Such
 * cells get a leading `'`, which spreadsheets read as "this is text". A cell beginning with `-`
 * is left alone when it is a plain number (`-5`, `-0.25`) or holds none of the characters a
 * formula needs to do harm (`= + @ ( ) | ! ;`), so list-style answers such as "- item" stay as
 * written; anything else led by `-` is neutralised too.
 */
const FORMULA_LEAD = /^[=+@\t\r]/;
const NUMBER = /^-\d+(?:[.,]\d+)*(?:e[-+]?\d+)?$/i;
const FORMULA_PART = /[=+@()|!;]/;

export function csvSafe(value: string): string {
  if (FORMULA_LEAD.test(value)) return `'${value}`;
  if (value.startsWith('-') && !NUMBER.test(value) && FORMULA_PART.test(value)) return `'${value}`;
  return value;
}
