// The shared vocabulary of mmsafe. Every stage (dataset -> protocol -> provider -> scorer ->
// metrics -> store) speaks these types; no SDK or wire type leaks past its provider file.

export type Label = 'safe' | 'unsafe';

/** Where a sample's image lives. Never the bytes: samples stay small so thousands stream cheaply. */
export interface ImageRef {
  /** Absolute path on disk. */
  path?: string;
  /** http(s) URL, fetched once and cached (custom benchmarks). */
  url?: string;
}

/** One benchmark item, as every loader produces it. */
export interface Sample {
  id: string;
  /** Missing when the dataset names no image (text-only rows) or the image could not be found. */
  image?: ImageRef;
  /** The item's own text: the sentence of a pair, or the user's query. */
  text: string;
  /** The exact prompt to send, when the benchmark ships one verbatim. */
  prompt?: string;
  label: Label;
  subset?: string;
  scenario?: string;
  domain?: string;
  attack?: string;
  category?: string;
  /** Reference safety warning (unsafe) or safe suggestion (safe), for judged protocols. */
  reference?: string;
  /** Any other per-item facts a benchmark needs (options, a cluster key, ...), by field name. */
  fields?: Record<string, string>;
}

/** Something wrong with one dataset row: reported to the user, never silently dropped. */
export interface DatasetProblem {
  id?: string;
  /** Where: a file, and a line or row where known. */
  where: string;
  kind: 'missing_image' | 'unreadable_image' | 'missing_field' | 'invalid_row';
  message: string;
}

export interface LoadedDataset {
  benchmark: string;
  /** Directory or file the data came from (resolved), stored with the run. */
  source: string;
  /** Samples that can be evaluated. */
  samples: Sample[];
  /** Samples or rows left out, with the reason. */
  problems: DatasetProblem[];
  /** Total items in the dataset, evaluated or not. */
  total: number;
}

/** An image exactly as it will be sent: bytes already within the provider's limits. */
export interface PreparedImage {
  data: Buffer;
  mime: 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif';
  /** sha256 (hex) of `data`, the bytes actually sent. */
  sha256: string;
  bytes: number;
  width?: number;
  height?: number;
}

export type ContentPart = { type: 'text'; text: string } | { type: 'image'; image: PreparedImage };

export interface Message {
  role: 'user' | 'assistant';
  content: ContentPart[];
}

export interface GenerateRequest {
  system?: string;
  messages: Message[];
  temperature?: number;
  maxTokens?: number;
  seed?: number;
  /** Ask for the top-k log-probabilities of each output token (OpenAI-compatible APIs). */
  topLogprobs?: number;
  /** Free-form provider options passed through to the API body (`--provider-option k=v`). */
  extra?: Record<string, unknown>;
  /** Structured output: a JSON schema the answer must follow (judges). */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  /** The item asked about; never sent (answer-blind baselines key their answers on it). */
  itemId?: string;
  /** Which of the item's `--samples K` answers this request is (0 when absent); never sent, part of the answer-cache key from 1 on. */
  repeat?: number;
  /** Facts about how the request was built (few-shot ids, caption used), stored with the answer; never sent. */
  meta?: Record<string, unknown>;
}

export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  reasoningTokens?: number;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  top?: { token: string; logprob: number }[];
}

export interface GenerateResponse {
  text: string;
  usage?: TokenUsage;
  finishReason?: string;
  logprobs?: TokenLogprob[];
  /** Model name the API says answered (may differ from the one asked for). */
  model?: string;
  /** Extra facts a method wants stored with the answer (VCD's two distributions). */
  details?: Record<string, unknown>;
}

export interface GenerateOptions {
  signal?: AbortSignal;
}

/** Image limits of a provider's API; the image pipeline prepares images to fit them. */
export interface ImageLimits {
  maxSide: number;
  /** Max bytes of the raw image. */
  maxBytes: number;
  /** Formats the API accepts as they are. */
  accepts: PreparedImage['mime'][];
}

/** Every model API, mock and baseline sits behind this one interface. */
export interface Provider {
  /** `kind:model`, e.g. `openai:gpt-4o`. */
  readonly id: string;
  readonly imageLimits: ImageLimits;
  /** Baselines answer without looking at images, so the runner can skip preparing them. */
  readonly needsImages: boolean;
  generate(request: GenerateRequest, options?: GenerateOptions): Promise<GenerateResponse>;
  /** Settings worth storing with the run (base URL, options); never secrets. */
  describe(): Record<string, unknown>;
  /** Loads what the first request needs (the SDK) ahead of time; optional. */
  warmup?(): Promise<unknown>;
  /** Whether the API can return token log-probabilities (needed by VCD). */
  readonly supportsLogprobs?: boolean;
}

export type ProviderErrorKind =
  | 'rate_limit'
  | 'overloaded'
  | 'server'
  | 'bad_request'
  | 'auth'
  | 'not_found'
  | 'content_policy'
  | 'context_length'
  /** Out of credit or over a spend limit: retrying before someone pays does not help. */
  | 'quota'
  | 'timeout'
  | 'network'
  | 'invalid_response'
  | 'image'
  | 'cancelled';

const RETRYABLE: ReadonlySet<ProviderErrorKind> = new Set([
  'rate_limit',
  'overloaded',
  'server',
  'timeout',
  'network',
  'invalid_response',
]);

/** A classified failure of one request. Retryable kinds are retried by the runner with back-off. */
export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly status?: number;
  readonly retryAfterMs?: number;
  constructor(kind: ProviderErrorKind, message: string, opts: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

/**
 * The scorer's decision about one answer. `judge_error`: the judge could not be asked or gave no
 * usable verdict; such rows are reported apart and never counted as either verdict.
 */
export type Prediction = 'safe' | 'unsafe' | 'unparsed' | 'judge_error';

export interface Verdict {
  /** Awareness: what the model said the sentence is. Response: 'safe' when the answer was judged safe and helpful. */
  prediction: Prediction;
  correct: boolean;
  /** Judge's rationale or extraction note. */
  rationale?: string;
  /** Extra scorer output worth keeping (judge raw output, refusal flag, logprobs). */
  details?: Record<string, unknown>;
}

export type ResultStatus = 'ok' | 'error';

/** One stored row: everything known about one sample in one run. Never the image bytes. */
export interface ResultRow {
  runId: string;
  sampleId: string;
  /** Which of the item's `--samples K` answers this is, from 0; absent means 0 (the only answer of a run with K = 1). */
  repeat?: number;
  status: ResultStatus;
  label: Label;
  subset?: string;
  scenario?: string;
  domain?: string;
  attack?: string;
  category?: string;
  response?: string;
  prediction?: Prediction;
  correct?: boolean;
  errorKind?: ProviderErrorKind | string;
  errorMessage?: string;
  latencyMs?: number;
  /** The text of the question as it was sent, after any method or ablation (last user turn). */
  prompt?: string;
  /** The system prompt as it was sent, if any. */
  system?: string;
  /** The item's reference answer the judge reads (judged protocols). */
  reference?: string;
  /** Model tokens of this answer; input includes the cached, output the reasoning tokens. */
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  reasoningTokens?: number;
  /** Dollars this answer cost, priced when it arrived; undefined when the price is unknown. */
  costUsd?: number;
  /** Tokens and dollars of the judgement of this answer (judged protocols). */
  judgeInputTokens?: number;
  judgeOutputTokens?: number;
  judgeCostUsd?: number;
  imageSha256?: string;
  attempts: number;
  details?: Record<string, unknown>;
}
