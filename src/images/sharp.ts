import type sharpType from 'sharp';

let loading: Promise<typeof sharpType> | undefined;

/**
 * sharp (libvips) takes a noticeable share of startup to load; loading it on first use, and early
 * in parallel with reading the dataset, keeps the first request within half a second of start.
 */
export function loadSharp(): Promise<typeof sharpType> {
  loading ??= import('sharp').then((m) => m.default);
  return loading;
}
