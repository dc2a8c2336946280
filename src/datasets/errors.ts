/** A dataset that cannot be read as a whole: the message names the file, the line, and the fix. */
export class DatasetError extends Error {}
