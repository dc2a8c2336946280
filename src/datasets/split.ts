import { createHash } from 'node:crypto';

/**
 * The deterministic train/test split for reasoning fine-tuning: a sample's side depends only on
 * its id, the ratio and the seed, so `export-sft` and `run --split test` agree without sharing files.
 */
export function splitOf(id: string, ratio: number, seed = 0): 'train' | 'test' {
  const u = createHash('sha256').update(`${seed}\n${id}`).digest().readUInt32BE(0) / 2 ** 32;
  return u < ratio ? 'train' : 'test';
}

/** `train:0.7` / `test` / `test:0.7` as given on the command line. */
export function parseSplit(spec: string): { part: 'train' | 'test'; ratio: number } {
  const m = /^(train|test)(?::(0?\.\d+|1\.0*|0))?$/.exec(spec.trim());
  if (!m) throw new Error(`--split "${spec}": expected train, test, train:0.7 or test:0.7`);
  const ratio = m[2] === undefined ? 0.7 : Number(m[2]);
  if (!(ratio > 0 && ratio < 1)) throw new Error(`--split "${spec}": the ratio must be between 0 and 1`);
  return { part: m[1] as 'train' | 'test', ratio };
}
