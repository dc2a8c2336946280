import { close, closeSync, constants, fstat, fstatSync, open, openSync, read, readFileSync } from 'node:fs';

/**
 * Reads an image file, refusing anything but a regular file. A FIFO, socket or device in an image
 * folder would otherwise block the read forever (a FIFO's open waits for a writer); opening with
 * O_NONBLOCK returns at once whatever the file is, and the type is checked on the open handle.
 */
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

export class NotRegularFileError extends Error {
  constructor() {
    super('not a regular file (a FIFO, socket or device?)');
  }
}

/**
 * Callbacks, not a `fs/promises` file handle: a run reads thousands of images on the thread every
 * request shares, and the handle adds promises and a chunked read loop to each of them.
 */
export function readRegularFile(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    open(file, FLAGS, (error, fd) => {
      if (error) return reject(error);
      const done = (failure: Error | null, data?: Buffer) => close(fd, () => (failure ? reject(failure) : resolve(data!)));
      fstat(fd, (error, stat) => {
        if (error) return done(error);
        if (!stat.isFile()) return done(new NotRegularFileError());
        readAll(fd, Buffer.allocUnsafe(stat.size), 0, done);
      });
    });
  });
}

/** Fills `into` from the start of the file; a file that shrank meanwhile gives what it has. */
function readAll(fd: number, into: Buffer, at: number, done: (error: Error | null, data?: Buffer) => void): void {
  if (at >= into.length) return done(null, into);
  read(fd, into, at, into.length - at, at, (error, n) => {
    if (error) return done(error);
    if (n === 0) return done(null, into.subarray(0, at));
    readAll(fd, into, at + n, done);
  });
}

export function readRegularFileSync(file: string): Buffer {
  const fd = openSync(file, FLAGS);
  try {
    if (!fstatSync(fd).isFile()) throw new NotRegularFileError();
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
