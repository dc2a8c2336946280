#!/usr/bin/env node
/**
 * The top entries of a V8 CPU profile (`node --cpu-prof`) by self time, and the share of the
 * profile they take: `node scripts/profile-top.mjs FILE.cpuprofile [N]`.
 */
import { readFileSync } from 'node:fs';

const [file, top = '20'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node scripts/profile-top.mjs FILE.cpuprofile [N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const dt = profile.timeDeltas;
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const { callFrame: f } = byId.get(id);
  const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  const us = dt[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + us);
  total += us;
});
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(7)} s  ${key}\n`);
}
