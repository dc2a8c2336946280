/**
 * Text from outside (API error messages, model answers, run ids read from a database) made safe to
 * print: escape sequences (CSI, OSC, DCS...) and every C0/C1 control character are removed, so
 * nothing printed can clear the screen, set the window title or move the cursor to fake a line.
 * Newlines and tabs stay unless `oneLine`, which turns line breaks into spaces (table cells,
 * one-line messages). Bidirectional overrides go too: they make text read other than it is.
 */
// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[ -/]*[0-~]?)|\x9b[0-?]*[ -/]*[@-~]?|\x9d[^\x07\x1b\x9c]*(?:\x07|\x9c)?/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

export function forTerminal(text: string, opts: { oneLine?: boolean } = {}): string {
  let s = String(text).replace(/\r\n/g, '\n').replace(ESCAPE_SEQUENCE, '');
  if (opts.oneLine) s = s.replace(/[\n\t]+/g, ' ');
  return s.replace(CONTROL, '');
}
