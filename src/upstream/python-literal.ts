/**
 * Reads one string value out of a Python source file, the way the interpreter would: benchmarks
 * publish their prompt templates as Python string constants, and mmsafe reads them from the
 * upstream file at run time instead of keeping a copy. Supported: '...', "...", '''...''',
 * """...""" (with r/u prefixes), adjacent literals concatenated (also inside parentheses), and
 * the escapes Python defines for plain strings. f-strings and byte strings are refused: their
 * value is not the text on the page.
 */
export class PythonLiteralError extends Error {}

/**
 * The string expression that follows the last of `anchors`, each searched for after the previous
 * one (e.g. ["mode == 'safe'", 'prompt_template =']). An `=` after the last anchor is skipped.
 */
export function pythonStringAfter(source: string, anchors: readonly string[]): string {
  let at = 0;
  for (const anchor of anchors) {
    const found = source.indexOf(anchor, at);
    if (found < 0) throw new PythonLiteralError(`"${anchor}" not found${at ? ' after the previous anchor' : ''}`);
    at = found + anchor.length;
  }
  const p = new Parser(source, at);
  // An anchor may end inside the expression, at its opening parenthesis.
  if (anchors.at(-1)?.trimEnd().endsWith('(')) return p.expression(true);
  p.skipSpace(false);
  if (source[p.pos] === '=' && source[p.pos + 1] !== '=') p.pos++;
  p.skipSpace(false);
  return p.expression();
}

class Parser {
  constructor(
    readonly src: string,
    public pos: number,
  ) {}

  /** Spaces, tabs and comments; newlines and backslash continuations too when `newlines` (inside brackets). */
  skipSpace(newlines: boolean): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === ' ' || c === '\t' || (newlines && (c === '\n' || c === '\r'))) this.pos++;
      else if (c === '\\' && (this.src[this.pos + 1] === '\n' || this.src[this.pos + 1] === '\r')) this.pos += 2;
      else if (c === '#' && newlines) while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      else return;
    }
  }

  expression(opened = false): string {
    const parens = opened || this.src[this.pos] === '(';
    if (parens && !opened) this.pos++;
    const parts: string[] = [];
    for (;;) {
      this.skipSpace(parens);
      if (!this.atLiteral()) break;
      parts.push(this.literal());
    }
    if (parts.length === 0) throw new PythonLiteralError(`no string literal at offset ${this.pos} (found ${JSON.stringify(this.src.slice(this.pos, this.pos + 20))})`);
    if (parens) {
      this.skipSpace(true);
      if (this.src[this.pos] !== ')') throw new PythonLiteralError(`expected ")" after the string literals at offset ${this.pos}`);
    }
    return parts.join('');
  }

  private atLiteral(): boolean {
    return /^(?:[rRuUfFbB]{0,2})['"]/.test(this.src.slice(this.pos, this.pos + 3));
  }

  private literal(): string {
    let prefix = '';
    while (/[rRuUfFbB]/.test(this.src[this.pos])) prefix += this.src[this.pos++].toLowerCase();
    if (prefix.includes('f') || prefix.includes('b')) throw new PythonLiteralError(`an ${prefix}-string literal has no fixed text value (offset ${this.pos})`);
    const raw = prefix.includes('r');
    const q = this.src[this.pos];
    const triple = this.src.startsWith(q.repeat(3), this.pos);
    const close = triple ? q.repeat(3) : q;
    this.pos += close.length;
    let out = '';
    for (;;) {
      if (this.pos >= this.src.length) throw new PythonLiteralError('unterminated string literal');
      if (this.src.startsWith(close, this.pos)) {
        this.pos += close.length;
        return out;
      }
      const c = this.src[this.pos];
      if (!triple && c === '\n') throw new PythonLiteralError(`newline inside a single-quoted string at offset ${this.pos}`);
      if (c === '\\') {
        if (raw) {
          out += c + (this.src[this.pos + 1] ?? '');
          this.pos += 2;
        } else out += this.escape();
        continue;
      }
      out += c;
      this.pos++;
    }
  }

  private escape(): string {
    const c = this.src[this.pos + 1];
    this.pos += 2;
    const simple: Record<string, string> = { '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    if (c in simple) return simple[c];
    const hex = (len: number) => {
      const h = this.src.slice(this.pos, this.pos + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) throw new PythonLiteralError(`bad \\${c} escape at offset ${this.pos}`);
      this.pos += len;
      return String.fromCodePoint(parseInt(h, 16));
    };
    if (c === 'x') return hex(2);
    if (c === 'u') return hex(4);
    if (c === 'U') return hex(8);
    if (c >= '0' && c <= '7') {
      const m = /^[0-7]{0,2}/.exec(this.src.slice(this.pos))![0];
      this.pos += m.length;
      return String.fromCharCode(parseInt(c + m, 8));
    }
    if (c === 'N') throw new PythonLiteralError(`\\N{...} escapes are not supported (offset ${this.pos})`);
    // Python keeps an unknown escape as written.
    return `\\${c}`;
  }
}
