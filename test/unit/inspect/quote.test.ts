import { describe, expect, it } from 'vitest';
import { GuestfishQuoteError, gfLine, gfQuote, opt } from '../../../electron/engine/guest/quote';

describe('gfQuote', () => {
  it('double-quotes every argument, plain ones too', () => {
    expect(gfQuote('/etc/fstab')).toBe('"/etc/fstab"');
    expect(gfQuote('')).toBe('""');
  });

  it('escapes double quotes and backslashes', () => {
    expect(gfQuote('/a "b"\\c')).toBe('"/a \\"b\\"\\\\c"');
  });

  it('keeps spaces, a leading dash, tilde, pipe and hash literal inside the quotes', () => {
    expect(gfQuote('/vm disks/-disk one.vmdk')).toBe('"/vm disks/-disk one.vmdk"');
    expect(gfQuote('~root')).toBe('"~root"');
    expect(gfQuote('|rm -rf /')).toBe('"|rm -rf /"');
    expect(gfQuote('# not a comment')).toBe('"# not a comment"');
    expect(gfQuote("it's")).toBe('"it\'s"');
  });

  it('writes control characters as \\xHH and passes UTF-8 through', () => {
    expect(gfQuote('a\nb\tc\x7f')).toBe('"a\\x0ab\\x09c\\x7f"');
    expect(gfQuote('/données/日本')).toBe('"/données/日本"');
  });

  it('refuses NUL, which guestfish cannot pass', () => {
    expect(() => gfQuote('a\0b')).toThrow(GuestfishQuoteError);
  });
});

describe('gfLine', () => {
  it('prefixes the command with - so a failure does not end the session', () => {
    expect(gfLine('inspect-os')).toBe('-inspect-os');
    expect(gfLine('cat', ['/etc/hostname'])).toBe('-cat "/etc/hostname"');
  });

  it('writes integers bare and optional arguments as one quoted name:value token', () => {
    expect(gfLine('part-get-mbr-id', ['/dev/sda', 1])).toBe('-part-get-mbr-id "/dev/sda" 1');
    expect(gfLine('add-drive', ['/x y/d.vmdk', opt('readonly', true), opt('format', 'vmdk')])).toBe('-add-drive "/x y/d.vmdk" "readonly:true" "format:vmdk"');
  });

  it('refuses malformed command or option names and non-integers', () => {
    expect(() => gfLine('cat /etc/passwd')).toThrow(GuestfishQuoteError);
    expect(() => gfLine('-cat')).toThrow(GuestfishQuoteError);
    expect(() => gfLine('add-drive', ['/x', opt('read only', true)])).toThrow(GuestfishQuoteError);
    expect(() => gfLine('download-offset', ['/x', '/y', 1.5, 4])).toThrow(GuestfishQuoteError);
  });
});
