import { escapeHtml as e } from '../report/escape.ts';
import { LEADERBOARD_STYLE } from '../report/html.ts';
import { PARTS_STYLE } from './parts.ts';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733}
header{background:#1d2733;color:#fff;padding:.6rem 1.2rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:1rem 1.2rem;max-width:1300px}h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.5rem}
table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.num{text-align:right}.ok{color:#17692f}.bad{color:#a32020}.muted{color:#777}
pre{white-space:pre-wrap;max-width:70ch;margin:0;font:13px/1.45 ui-monospace,monospace}
form.filters{display:flex;gap:.6rem;flex-wrap:wrap;align-items:end;margin:.6rem 0}form.filters label{display:flex;flex-direction:column;font-size:.85em}
.pager{margin:.6rem 0}.pager a{margin-right:1rem}img.thumb{max-width:320px;max-height:320px;border:1px solid #ccc}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}.card{border:1px solid #ddd;padding:.8rem;border-radius:4px}.card h2{margin-top:0}.verdicts{margin-top:1rem}.charts{display:flex;flex-wrap:wrap;gap:2rem;align-items:flex-start}
button{padding:.4rem .8rem;font-size:1em;cursor:pointer}kbd{border:1px solid #aaa;border-radius:3px;padding:0 .3em;font-size:.85em}`;

/**
 * Every viewer page: local assets only (no CDN), so it works offline. Scripts come from the
 * viewer's own files, never inline, so the CSP can forbid inline script outright.
 */
export function page(title: string, body: string, scriptSrc = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)} - mmsafe</title><style>${STYLE}${LEADERBOARD_STYLE}${PARTS_STYLE}</style></head>
<body><header><a href="/">mmsafe viewer</a></header><main>${body}</main>${scriptSrc ? `<script src="${e(scriptSrc)}"></script>` : ''}</body></html>`;
}

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
