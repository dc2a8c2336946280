// What a benchmark is, in one place (the shape of inspect_ai's Task: dataset + solver + scorer +
// metrics). A benchmark is one file under src/benchmarks/ exporting a BenchmarkDefinition, plus one
// line in registry.ts. Everything outside src/benchmarks/ reads these declarations and never names
// a benchmark. See docs/adding-a-benchmark.md.

import type { Label, LoadedDataset, Prediction, ResultRow, Sample } from '../core/types.ts';
import type { ExtraPart } from '../datasets/extras.ts';
import type { TemplateSpec, UpstreamPin, UpstreamTemplates } from '../upstream/template.ts';

export type { UpstreamTemplates } from '../upstream/template.ts';

/** How a model is asked. Each has its own request shape, scorer kind and stored-summary layout. */
export type ProtocolName = 'awareness' | 'response' | 'multiple-choice';

/** What `--subset`, `--limit` and `--images` ask of a loader. */
export interface LoadOptions {
  subset?: string;
  limit?: number;
  /** The images directory when not the benchmark's default place (e.g. `<data>/images`). */
  images?: string;
}

export type Loader = (data: string, opts: LoadOptions) => Promise<LoadedDataset>;

/** Where `mmsafe data pull` downloads a benchmark from. */
export interface DataSource {
  /** Archive URLs (.tar.gz or .zip), first one used unless `--from` names a mirror. */
  urls: string[];
  /** A file that marks the data folder inside the archive (the folder with the largest one wins). */
  marker: string;
  /** What the archive should be, for the error message when it holds no marker. */
  note: string;
  /** Work after extraction (e.g. unpack an images archive shipped beside the data). */
  afterExtract?: (folder: string, top: string, log: (s: string) => void) => Promise<void>;
  /** The upstream commit the archive must match: the files mmsafe reads are checked against it. */
  pin?: UpstreamPin;
  /** What the archive does not hold (images on the Hub or behind a drive link). */
  extras?: readonly ExtraPart[];
}

/** The exact user-turn text sent to the model for one item (before any method or ablation). */
export type PromptTemplate = (sample: Sample) => string;

/** Generation settings a benchmark asks for; run flags (--system, --max-tokens...) override them. */
export interface GenerationDefaults {
  system?: string;
  maxTokens?: number;
  temperature?: number;
  /** Send the text before the image (the order of the benchmark's own API calls); default image first. */
  textFirst?: boolean;
}

/** strict: the leading Yes/No; paper: upstream's substring rule; final: a reasoning answer's final Yes/No. */
export type ExtractionMode = 'strict' | 'paper' | 'final';

/** Yes/No read from the answer itself (awareness). */
export interface ExtractionScorer {
  kind: 'extraction';
  /** The mode used unless `--extraction` says otherwise. */
  defaultMode: ExtractionMode;
}

/** One letter among the item's options (`mcqa`, multiple choice). */
export interface ChoiceScorer {
  kind: 'choice';
  /** The options shown for an item, in order; labelled A, B, C... in the prompt. */
  options: (sample: Sample) => string[];
  /** The option letter that counts as correct for an item. */
  answer: (sample: Sample) => string;
  /** Reads the letter from the answer (the benchmark's own rule); undefined: unreadable, counted wrong and reported. Default: a leading letter. */
  parse?: (answer: string, letters: readonly string[]) => string | undefined;
}

/** A judge model reads the answer and gives a verdict (response). */
export interface JudgeScorer {
  kind: 'judge';
  rubric: JudgeRubric;
}

export type ScorerSpec = ExtractionScorer | ChoiceScorer | JudgeScorer;

/**
 * How a judge is asked. The template may differ per item (by label, scenario, ...). The answer
 * under test is untrusted: a template must frame it as data to grade, never as instructions.
 */
export interface JudgeRubric {
  /** Stored with the run, so a verdict can be traced to the rubric that produced it. */
  id: string;
  /** The judge's system prompt; none when absent. */
  system?: string;
  /** Structured-output schema for the verdict JSON (`{verdict, rationale}`), unless a template has its own. */
  schema?: { name: string; schema: Record<string, unknown> };
  /** The judge's generation settings (default: temperature 0, 400 tokens). */
  generation?: { maxTokens?: number; temperature?: number };
  /** The template for one item. */
  templateFor: (sample: Sample) => JudgeTemplate;
}

export interface JudgeTemplate {
  /** Stable name of the template ("unsafe-item", "scenario:ocr"...), stored with the verdict. */
  id: string;
  /** The judge's user-turn text. */
  prompt: (sample: Sample, answer: string) => string;
  /** Whether the judge is sent the item's image too (prepared within the judge's limits). */
  seesImage: boolean;
  /** Verdict words that mean the answer did what the benchmark wants (counted correct). */
  pass: readonly string[];
  /** Verdict words that mean it did not. Any other word is an unusable verdict (re-asked once). */
  fail: readonly string[];
  /** Text before the image in the judge's turn (the order of upstream's judge call); default image first. */
  textFirst?: boolean;
  /**
   * Reads the verdict word from the judge's free-text reply (the benchmark's own parser); without
   * it the judge is asked for the JSON {verdict, rationale}. `fallback` names a lenient rule the
   * parser needed, stored with the verdict and counted in the summary.
   */
  parse?: (reply: string) => { verdict: string; rationale?: string; fallback?: string } | undefined;
  /** This template's structured-output schema; `null`: free text, as upstream asked (read by `parse`). */
  schema?: { name: string; schema: Record<string, unknown> } | null;
  /**
   * The judge's own refusal reading, stored beside the rule classifier's (`judge_refusal` beside
   * `refusal`): the verdict words that mean the answer refused, where the rubric already says so,
   * or a boolean field of the judge's JSON reply. Absent: the rubric does not tell refusal apart.
   */
  refusal?: { verdicts: readonly string[] } | { field: string };
  /** A verdict given without asking the judge (upstream scores e.g. an empty answer itself). */
  shortcut?: (answer: string) => string | undefined;
  /** Several judgements per answer (e.g. safety and effectiveness): each its own template; `pass` then tests the combined verdict. */
  aspects?: { name: string; template: JudgeTemplate }[];
  /** How the aspects' verdicts make the answer's verdict (a word of `pass` or `fail`). */
  combine?: (verdicts: Record<string, string>) => string;
}

/** Which rows a proportion is over and which of them count: row predicates over stored rows. */
export type RowTest = (row: ResultRow) => boolean;

export type Better = 'higher' | 'lower';

/** The leaderboard's two column groups: headline accuracies, then secondary rates. */
export type ColumnGroup = 'accuracy' | 'rates';

interface EntryBase {
  /** Leaderboard column label; the entry is not a column when absent. */
  label?: string;
  column?: ColumnGroup;
  better: Better;
}

/**
 * A proportion of stored rows: `hit` among `over`. As `proportion` it is stored as
 * {n, correct, accuracy, ci95, ci95_wilson} (ci95: the cluster bootstrap); as `number` as the bare
 * rate, its interval under `aggregate_ci95`. Rates such as refusal rate or attack success rate are
 * rates with `better: 'lower'`.
 */
export interface RateEntry extends EntryBase {
  kind: 'rate';
  key: string;
  over: RowTest;
  hit: RowTest;
  form: 'proportion' | 'number';
}

/**
 * One proportion per value of a row field, stored as `metrics.<value>` (e.g. MMSafeAware's
 * typical / attack / oversafe). With `values`, those are reported always (n 0 when absent); without,
 * the values the rows hold. The column label is the value itself.
 */
export interface GroupsEntry extends EntryBase {
  kind: 'groups';
  field: string;
  values?: readonly string[];
  over: RowTest;
  hit: RowTest;
}

/**
 * An unweighted mean of proportions with n > 0 (0 when none has rows): of the groups of a field
 * (MMSafeAware's Total) or of listed rates (balanced accuracy). Stored as a bare number, its
 * cluster-bootstrap interval under `aggregate_ci95` (MOVER over Wilson with `--bootstrap 0`). A
 * mean over the groups of a field the rows do not have is left out.
 */
export interface MeanEntry extends EntryBase {
  kind: 'mean';
  key: string;
  of: { groups: string } | { rates: { over: RowTest; hit: RowTest }[] };
}

export type MetricEntry = RateEntry | GroupsEntry | MeanEntry;

/**
 * A breakdown stored beside `metrics` (e.g. `by_scenario`): per value of a field, either one
 * proportion (`over`/`hit`) or a block of named rates.
 */
export interface BreakdownSpec {
  /** The summary key, e.g. `by_category`. */
  key: string;
  field: string;
  /** Rows whose value starts a group: every row, or only those `over` admits. */
  valuesFrom: 'all' | 'over';
  over: RowTest;
  hit: RowTest;
  /** Per value, these rates (keys as in metrics) instead of one proportion. */
  block?: RateEntry[];
  /** Without a block: whether the one proportion is better high or low (default higher: a share of correct answers). */
  better?: Better;
}

/**
 * How a request or answer blocked by the API's safety system counts in the metrics: left out of
 * every denominator (`excluded`), or as the answer it stands for (see `blockRules`). The summary
 * reports the same metrics with blocks left out beside them, as a sensitivity line.
 */
export type ContentPolicyRule = 'excluded' | BlockRule;

export interface BlockRule {
  /** Said in the summary and the reports: "an unsafe verdict (No)". */
  countedAs: string;
  /** The verdict a block stands for, as the protocol's scorer would have stored it. */
  score: (row: ResultRow) => { prediction: Prediction; correct: boolean; details?: Record<string, unknown> };
}

/** The block rules the definitions share. */
export const blockRules = {
  /** A yes/no test: the model called the pair unsafe, a "No" that stays in its subset's n. */
  unsafeVerdict: { countedAs: 'an unsafe verdict ("No")', score: (r) => ({ prediction: 'unsafe', correct: r.label === 'unsafe' }) } satisfies BlockRule,
  /** A judged answer: a refusal that gives no guidance, so wrong on either label. */
  bareRefusal: { countedAs: 'a bare refusal (wrong on both labels)', score: () => ({ prediction: 'unsafe', correct: false, details: { refusal: true } }) } satisfies BlockRule,
  /** A refusal benchmark: the verdict its judge gives a refusal (`details`), and whether that passes. */
  refusal: (details: Record<string, unknown>, pass: boolean): BlockRule => ({
    countedAs: 'a refusal',
    score: () => ({ prediction: pass ? 'safe' : 'unsafe', correct: pass, details: { refusal: true, ...details } }),
  }),
} as const;

/** What the samples are clustered by for clustered intervals (items sharing an image are not independent). */
export type ClusterKey = { by: 'image' } | { by: 'field'; field: string };

/**
 * How the headline metrics combine an item's `--samples K` answers: the majority verdict per item
 * (`vote: 'aspects'` also takes each judged aspect's majority by itself), or every answer counted
 * (`mean`: each metric the mean over repeats). Default: majority of verdicts.
 */
export type RepeatRule = { aggregate: 'majority'; vote: 'verdict' | 'aspects' } | { aggregate: 'mean' };

export interface MetricSpec {
  /** In the order they appear under `metrics` in the summary JSON. */
  entries: MetricEntry[];
  breakdowns: BreakdownSpec[];
  /** Keys of the headline aggregates, in reading order (the first is the primary one). */
  headline: string[];
  /** Leaderboard columns in order; entries with a label when absent. */
  columns?: string[];
  cluster: ClusterKey;
  contentPolicy: ContentPolicyRule;
  /** `--samples K`: how an item's answers make its verdict (default: the majority of verdicts). */
  repeats?: RepeatRule;
}

/** A paired comparison between two runs on the samples both answered. */
export interface ComparisonSpec {
  metric: string;
  /** "A <verb> x% of <of>". */
  verb: string;
  of: string;
  include: RowTest;
  value: RowTest;
  /** Left out when no sample qualifies (a subset the data lacks) rather than reported empty. */
  optional?: boolean;
}

/** The charts of a leaderboard, by metric key or field. */
export interface ChartSpec {
  /** Accuracy per value of the first of these breakdowns a run has (for block breakdowns, its `metric`). */
  heatmap?: { breakdowns: string[]; metric?: string; title: string };
  /** Safety against over-sensitivity: y = caught share of `y`, x = 1 - accuracy of `x`. */
  tradeoff?: { x: string; y: string; xTitle: string; yTitle: string };
  /** One panel per metric key, one bar per leaderboard row; a groups field (`subset`) stands for its groups. */
  bars?: string[];
}

export interface ProtocolSpec {
  prompt: PromptTemplate;
  generation?: GenerationDefaults;
  scorer: ScorerSpec;
  metrics: MetricSpec;
  /** Rows of answer-blind baselines on the same samples (yes/no protocols only). */
  baselines?: boolean;
  comparisons: ComparisonSpec[];
  charts: ChartSpec;
  /** Prompt, system prompt or judge templates read at run time from the upstream repository (`--data`). */
  upstream?: UpstreamBinding;
  /**
   * Judge templates a user may give with `--judge-prompts` where the benchmark publishes none (its
   * rubric is mmsafe's own wording), e.g. to run a paper's exact text. Unused without the flag.
   */
  userTemplates?: UserTemplates;
  /** Where the protocol's metrics sit in a model's safety / over-sensitivity profile (`mmsafe suite`). */
  profile?: Profile;
}

/** A metric key as a profile axis; `invert`: the axis is 1 - the metric (e.g. safety = 1 - attack success). */
export interface ProfileAxis {
  metric: string;
  invert?: boolean;
}

/** Safety: higher is safer on harmful items. Over-sensitivity: higher is more needless refusal of benign items. */
export interface Profile {
  safety?: ProfileAxis;
  oversensitivity?: ProfileAxis;
}

/**
 * A benchmark whose prompts are part of its published release: the run reads them from the files
 * of the repository at `--data` (checked against the pinned commit) and builds the protocol's
 * prompt, generation settings and scorer from them. The summary records where each came from.
 */
export interface UpstreamBinding {
  pin: UpstreamPin;
  templates: readonly TemplateSpec[];
  /** mmsafe's own wording per template name, used (and marked) when neither the file nor --judge-prompts has it. */
  fallbacks?: Record<string, string>;
  bind: (t: UpstreamTemplates) => { prompt?: PromptTemplate; generation?: GenerationDefaults; scorer?: ScorerSpec };
}

/**
 * The templates a --judge-prompts file may replace, by name, with the fields each must hold;
 * every `{field}` of `fields` and `optional` is replaced by its value. `bind` builds the rubric from
 * the templates the file gives (`given`); the others keep mmsafe's wording.
 */
export interface UserTemplates {
  templates: readonly { name: string; fields: readonly string[]; optional?: readonly string[] }[];
  bind: (t: UpstreamTemplates, given: ReadonlySet<string>) => JudgeRubric;
}

/** The judge of a spec whose templates are read from upstream at run start (`upstream.bind` replaces it). */
export function unboundJudge(id: string): JudgeScorer {
  return {
    kind: 'judge',
    rubric: {
      id,
      templateFor: () => {
        throw new Error(`judge rubric ${id} was used before the benchmark's upstream files were read (bindUpstream)`);
      },
    },
  };
}

/** Published reference numbers, shown as marked rows of leaderboards (never mixed with runs). */
export interface PublishedRow {
  name: string;
  protocol: ProtocolName;
  source: string;
  /** Fractions, by metric key. */
  values: Record<string, number>;
  /** The items behind each value, by metric key, where the paper's n is known (`--against-paper` sets it beside the run's). */
  n?: Record<string, number>;
  /** Printed under every table that shows the row: what is not yet verified about it. */
  caveat?: string;
}

export interface BenchmarkDefinition {
  /** The `--benchmark` name: lower case, stored with every run. */
  name: string;
  /** How people write it (MMSafeAware). */
  title: string;
  /** What `--data` must point at, for help and errors. */
  dataHelp: string;
  load: Loader;
  /** The values `--subset` accepts; absent when the rows decide (custom sets). */
  subsets?: readonly string[];
  /** Added to "no image found" errors: where this benchmark's images are expected. */
  missingImageHint?: string;
  source?: DataSource;
  defaultProtocol: ProtocolName;
  /** The protocols the benchmark can be run with; the default one must be among them. */
  protocols: Partial<Record<ProtocolName, ProtocolSpec>>;
  published?: PublishedRow[];
  /** Group names (scenarios, categories) a reader would misread, with what each is: noted under any report that shows them. */
  groupNotes?: Record<string, string>;
}

/** Reads a row field by name: a core column (subset, scenario...) or an extra per-item field. */
export function fieldOf(row: ResultRow | Sample, field: string): string | undefined {
  const direct = (row as unknown as Record<string, unknown>)[field];
  if (typeof direct === 'string' && direct !== '') return direct;
  const extra = ('fields' in row ? row.fields : undefined) ?? ((row as ResultRow).details?.fields as Record<string, string> | undefined);
  const v = extra?.[field];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Row tests the definitions share. */
export const rows = {
  answered: (r: ResultRow) => r.status === 'ok',
  judged: (r: ResultRow) => r.status === 'ok' && r.prediction !== 'judge_error',
  correct: (r: ResultRow) => r.correct === true,
  labelled: (label: Label) => (r: ResultRow) => r.label === label,
  predicted: (label: Label) => (r: ResultRow) => r.prediction === label,
  refused: (r: ResultRow) => r.details?.refusal === true,
} as const;
