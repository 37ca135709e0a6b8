/**
 * Quoting for guestfish's command language (guestfish(1), "QUOTING", "ESCAPE SEQUENCES IN
 * DOUBLE QUOTED ARGUMENTS", "COMMENTS", "PIPES", "HOME DIRECTORIES"). Every argument the session
 * sends goes through `gfQuote`, so a path with spaces, quotes, a leading `-`, `~`, `|` or `#`,
 * or control characters reaches libguestfs byte for byte.
 *
 * guestfish splits a line on blanks; a double-quoted argument keeps blanks and understands
 * `\\`, `\"` and `\xHH` escapes; a bare argument starting with `|` starts a host pipe and one
 * starting with `~` is tilde-expanded, both of which a quoted argument never does. A leading
 * `-` only matters on the command word (it means "do not exit on error"), never on an argument.
 */

/** Guestfish cannot pass a NUL byte in an argument ("\x00 cannot be used in strings"). */
export class GuestfishQuoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestfishQuoteError';
  }
}

/**
 * One argument, always double-quoted: `"` and `\` are backslash-escaped, control characters
 * (below 0x20, and 0x7f) become `\xHH`; everything else, UTF-8 included, is passed as is.
 * Throws GuestfishQuoteError for a string containing NUL.
 */
export function gfQuote(arg: string): string {
  let out = '"';
  for (const ch of arg) {
    const code = ch.codePointAt(0)!;
    if (code === 0) throw new GuestfishQuoteError('guestfish arguments cannot contain a NUL character');
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** A guestfish command name: lower-case words joined by `-` or `_` (e.g. inspect-get-type). */
const COMMAND = /^[a-z][a-z0-9_-]*$/;

/** An optional argument `name:value` (e.g. readonly:true, format:vmdk). */
export interface GfOptArg {
  opt: string;
  value: string | number | boolean;
}

export type GfArg = string | number | GfOptArg;

/**
 * One command line: the command (prefixed with `-` so that a failure does not end the
 * session), each positional argument quoted, optional arguments as `"name:value"`.
 * Throws GuestfishQuoteError for a malformed command or option name, or a NUL in an argument.
 */
export function gfLine(command: string, args: readonly GfArg[] = []): string {
  if (!COMMAND.test(command)) throw new GuestfishQuoteError(`not a guestfish command name: ${JSON.stringify(command)}`);
  const parts = ['-' + command];
  for (const a of args) {
    if (typeof a === 'number') {
      if (!Number.isSafeInteger(a)) throw new GuestfishQuoteError(`not an integer argument: ${a}`);
      parts.push(String(a));
    } else if (typeof a === 'string') parts.push(gfQuote(a));
    else {
      if (!/^[a-z][a-z0-9_]*$/.test(a.opt)) throw new GuestfishQuoteError(`not an option name: ${JSON.stringify(a.opt)}`);
      // The whole `name:value` token is quoted: guestfish unquotes it, then splits at the colon.
      parts.push(gfQuote(`${a.opt}:${String(a.value)}`));
    }
  }
  return parts.join(' ');
}

/** Shorthand for an optional argument. */
export const opt = (name: string, value: string | number | boolean): GfOptArg => ({ opt: name, value });
