/** A URL safe to print: no password, no query string (signed CDN URLs carry credentials there). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.username = '';
    u.search = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
