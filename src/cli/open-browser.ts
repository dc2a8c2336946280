import { spawn } from 'node:child_process';

/**
 * Opens a URL in the user's browser: `$BROWSER` when set (the usual convention, and how tests
 * see the call), else the platform's opener. Never fatal: the URL is printed either way.
 */
export function openBrowser(url: string, onError: (message: string) => void): void {
  const [cmd, ...args] = process.env.BROWSER
    ? [process.env.BROWSER, url]
    : process.platform === 'darwin'
      ? ['open', url]
      : process.platform === 'win32'
        ? ['cmd', '/c', 'start', '""', url]
        : ['xdg-open', url];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', (error) => onError(`could not open a browser (${cmd}: ${error.message}); open ${url} yourself`));
    child.unref();
  } catch (error) {
    onError(`could not open a browser (${(error as Error).message}); open ${url} yourself`);
  }
}
