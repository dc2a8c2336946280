// A process that, once interrupted, is stuck in synchronous work (as a blocking read of a FIFO
// would leave it): only a second signal that needs no JavaScript to run can end it.
import { onInterrupt } from '../../src/cli/interrupt.ts';

const { signal } = onInterrupt('probe stopping');
signal.addEventListener('abort', () => {
  process.stdout.write('stuck\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
});
setInterval(() => undefined, 1000);
process.stdout.write('ready\n');
