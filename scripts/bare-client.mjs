// The benchmark's yardstick: the least a client can do to get the same answers. No retries, no
// storage, no image checks; images are read and base64-encoded before the first request.
// usage: node scripts/bare-client.mjs BASE_URL ITEMS_JSON CONCURRENCY
import { readFileSync } from 'node:fs';

const [, , baseURL, itemsFile, concurrencyArg] = process.argv;
const items = JSON.parse(readFileSync(itemsFile, 'utf8'));
const concurrency = Number(concurrencyArg);
const encoded = items.map((it) => ({ prompt: it.prompt, url: `data:${it.mime};base64,${readFileSync(it.image).toString('base64')}` }));

let next = 0;
let answered = 0;
async function worker() {
  while (next < encoded.length) {
    const it = encoded[next++];
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
      body: JSON.stringify({
        model: 'bench',
        temperature: 0,
        max_tokens: 256,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: it.url } }, { type: 'text', text: it.prompt }] }],
      }),
    });
    const body = await res.json();
    if (body.choices?.[0]?.message) answered++;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(`${JSON.stringify({ answered })}\n`);
