import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

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

export async function readRegularFile(file: string): Promise<Buffer> {
  const handle = await open(file, FLAGS);
  try {
    if (!(await handle.stat()).isFile()) throw new NotRegularFileError();
    return await handle.readFile();
  } finally {
    await handle.close();
  }
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
