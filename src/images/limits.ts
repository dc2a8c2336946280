import type { ImageLimits } from '../core/types.ts';

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxSide: 2048,
  maxBytes: 20 * 1024 * 1024,
  accepts: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'],
};
