// MM-SafetyBench (Liu et al., ECCV 2024, "Query-Relevant Images Jailbreak Large Multi-Modal Models"),
// github.com/isXinLiu/MM-SafetyBench: 13 scenarios x 1,680 questions x 3 image kinds (SD, SD_TYPO,
// TYPO). The model gets the rephrased question for the image kind; a text-only judge reads only the
// answer with its scenario's template from the repository's evaluation.py, read at run time.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DatasetProblem, LoadedDataset, Sample } from '../core/types.ts';
import { DatasetError } from '../datasets/errors.ts';
import { unreadableImageReason } from './salad.ts';
import type { TemplateSpec, UpstreamPin } from '../upstream/template.ts';

export const MMSB_PIN: UpstreamPin = {
  repo: 'isXinLiu/MM-SafetyBench',
  commit: 'b80eedea3db312c09ded2082813390f68e750ef3',
  blobs: {
    'evaluation.py': '3479543c04c0b439b984c2d2e018638028821220',
    'TinyVersion_ID_List.json': '74faeaeef101863741f9458c7706c705e316cacd',
  },
};

/** The image kinds, and the question field upstream pairs with each. */
export const IMAGE_KINDS = { SD: 'Rephrased Question(SD)', SD_TYPO: 'Rephrased Question', TYPO: 'Rephrased Question' } as const;
export type ImageKind = keyof typeof IMAGE_KINDS;

/** The scenarios with a template of their own in evaluation.py (the rest use the general one). */
const SCENARIO_TEMPLATE: Record<string, string> = {
  '08-Political_Lobbying': 'gpt_query_template_safety_political_lobbing',
  '10-Legal_Opinion': 'gpt_query_template_safety_legal',
  '11-Financial_Advice': 'gpt_query_template_safety_financial',
  '12-Health_Consultation': 'gpt_query_template_safety_health',
  '13-Gov_Decision': 'gpt_query_template_safety_gov_decision',
};
const GENERAL_TEMPLATE = 'gpt_query_template_safety';

/** The judge template for each variable name in evaluation.py. */
export const MMSB_JUDGES: Record<string, TemplateSpec> = Object.fromEntries(
  [GENERAL_TEMPLATE, ...Object.values(SCENARIO_TEMPLATE)].map((v) => [
    v,
    { name: `mm-safetybench:${v}`, file: 'evaluation.py', anchors: [`${v} = (`], fill: 'format', fields: ['prediction'] } satisfies TemplateSpec,
  ]),
);

/** Which evaluation.py template judges answers in a scenario, as upstream's perform_eval chooses. */
export function judgeTemplateFor(scenario: string): TemplateSpec {
  return MMSB_JUDGES[SCENARIO_TEMPLATE[scenario] ?? GENERAL_TEMPLATE];
}

const Question = z.object({ 'Rephrased Question': z.string().min(1), 'Rephrased Question(SD)': z.string().min(1) }).passthrough();
const Tiny = z.array(z.object({ Scenario: z.string(), Sampled_ID_List: z.array(z.union([z.number(), z.string()])) }));

/** The ids of the tiny version, as "<scenario>/<id>". */
function tinyIds(root: string): Set<string> {
  const file = path.join(root, 'TinyVersion_ID_List.json');
  if (!existsSync(file)) throw new DatasetError(`${file} not found: --subset tiny needs the repository's TinyVersion_ID_List.json`);
  const parsed = Tiny.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new DatasetError(`${file}: expected an array of {Scenario, Sampled_ID_List}`);
  return new Set(parsed.data.flatMap((s) => s.Sampled_ID_List.map((id) => `${s.Scenario}/${id}`)));
}

/**
 * `--data` is the repository root (data/processed_questions/<scenario>.json, objects keyed by
 * question id); `--images DIR` is the image archive's imgs/ folder (default `<data>/data/imgs`,
 * where the README unpacks it): imgs/<scenario>/<SD|SD_TYPO|TYPO>/<id>.jpg. One sample per question
 * and image kind; `--subset tiny` keeps the 168 questions of the tiny version.
 */
export async function loadMmSafetyBench(data: string, opts: { subset?: string; limit?: number; images?: string } = {}): Promise<LoadedDataset> {
  const root = path.resolve(data);
  const dir = path.join(root, 'data', 'processed_questions');
  if (!existsSync(dir)) throw new DatasetError(`${dir} not found: --data must be the root of the MM-SafetyBench repository (mmsafe data pull mm-safetybench)`);
  const imgs = path.resolve(opts.images ?? path.join(root, 'data', 'imgs'));
  const keep = opts.subset === 'tiny' ? tinyIds(root) : undefined;
  const samples: Sample[] = [];
  const problems: DatasetProblem[] = [];
  let total = 0;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const scenario = name.slice(0, -'.json'.length);
    const file = path.join(dir, name);
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new DatasetError(`${file}: not valid JSON (${(error as Error).message})`);
    }
    for (const [qid, value] of Object.entries(raw)) {
      if (keep && !keep.has(`${scenario}/${qid}`)) continue;
      for (const kind of Object.keys(IMAGE_KINDS) as ImageKind[]) {
        if (opts.limit && total >= opts.limit) break;
        total++;
        const id = `${scenario}/${kind}/${qid}`;
        const where = `${file} question "${qid}" (${kind})`;
        const q = Question.safeParse(value);
        if (!q.success) {
          problems.push({ id, where, kind: 'missing_field', message: `field "${q.error.issues[0].path.join('.')}": ${q.error.issues[0].message}` });
          continue;
        }
        const image = path.join(imgs, scenario, kind, `${qid}.jpg`);
        if (!existsSync(image)) {
          problems.push({ id, where, kind: 'missing_image', message: `image ${scenario}/${kind}/${qid}.jpg not found in ${imgs} (--images: the archive's imgs/ folder)` });
          continue;
        }
        const unreadable = unreadableImageReason(image);
        if (unreadable) {
          problems.push({ id, where, kind: 'unreadable_image', message: `image ${scenario}/${kind}/${qid}.jpg: ${unreadable}` });
          continue;
        }
        samples.push({ id, image: { path: image }, text: q.data[IMAGE_KINDS[kind]], label: 'unsafe', scenario, attack: kind, fields: { question_id: qid } });
      }
    }
  }
  return { benchmark: 'mm-safetybench', source: root, samples, problems, total };
}

/**
 * Upstream counts a reply as a verdict only when it is exactly "safe" or "unsafe" (ignoring case);
 * here surrounding whitespace and a final full stop are also ignored.
 */
export function parseSafeUnsafe(reply: string): { verdict: 'safe' | 'unsafe' } | undefined {
  const word = reply.trim().replace(/\.$/, '').toLowerCase();
  return word === 'safe' || word === 'unsafe' ? { verdict: word } : undefined;
}
