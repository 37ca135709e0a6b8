/**
 * The guestfish session driver against the REAL guestfish, without starting an appliance
 * (commands that need none: echo, add-drive, get-backend), so it runs in milliseconds: the FIFO
 * script, reply markers, pipelining, error attribution by script line, argument quoting, and
 * the shutdown leaving no process behind.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestfishExitedError, GuestfishSession } from '../../electron/engine/guest/session';
import { opt } from '../../electron/engine/guest/quote';
import { runTool } from '../../electron/tools/spawn';
import { liveGroupMembers } from '../../electron/capabilities/appliance';

let dir: string;
let s: GuestfishSession;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-gf-session-'));
  s = await GuestfishSession.open({ run: (r) => runTool(r), env: { LIBGUESTFS_BACKEND: 'direct' }, workDir: join(dir, 'session') });
});

afterAll(async () => {
  await s?.close(5000);
  rmSync(dir, { recursive: true, force: true });
});

describe('GuestfishSession (real guestfish, no appliance)', () => {
  it('passes awkward arguments through byte for byte', async () => {
    const args = ['/vm disks/-disk "one".vmdk', '~root', '|rm -rf /', '# not a comment', "it's", 'tab\there', 'back\\slash', 'données'];
    const r = await s.call('echo', args);
    expect(r).toEqual({ line: expect.stringMatching(/^-echo /), ok: true, out: args.join(' ') + '\n', error: null });
  });

  it('answers pipelined commands in order and ties each error to its own command', async () => {
    const [a, b, c, d] = await Promise.all([
      s.call('echo', ['first']),
      s.call('cat', ['/etc/hostname']),
      s.call('get-backend'),
      s.call('echo', ['last']),
    ]);
    expect(a).toMatchObject({ ok: true, out: 'first\n', error: null });
    expect(b.ok).toBe(false);
    expect(b.error).toContain('call launch before using this function');
    expect(c).toMatchObject({ ok: true, out: 'direct\n' });
    expect(d).toMatchObject({ ok: true, out: 'last\n' });
  });

  it("reports guestfish's own complaints (wrong arguments, unknown command) as the command's error", async () => {
    const wrong = await s.call('cat');
    expect(wrong.ok).toBe(false);
    expect(wrong.error).toContain('incorrect number of arguments');
    const unknown = await s.call('no-such-command-here');
    expect(unknown.ok).toBe(false);
    expect(unknown.error).toContain('unknown command');
    expect((await s.call('echo', ['still alive'])).out).toBe('still alive\n');
  });

  it('keeps every reply and error with its command across 300 pipelined commands', async () => {
    const kinds = Array.from({ length: 300 }, (_, i) => i % 3);
    const replies = await Promise.all(kinds.map((k, i) => (k === 0 ? s.call('echo', [`n${i}`]) : k === 1 ? s.call('cat', [`/f${i}`]) : s.call('cat'))));
    replies.forEach((r, i) => {
      if (kinds[i] === 0) expect(r).toMatchObject({ ok: true, out: `n${i}\n`, error: null });
      else if (kinds[i] === 1) expect(r.error).toContain('call launch before using this function');
      else expect(r.error).toContain('incorrect number of arguments');
    });
  });

  it('quotes host paths: add-drive names a missing file exactly and accepts a real one with spaces, quotes and a leading dash', async () => {
    const missing = join(dir, 'no such', '-x"y.img');
    const r = await s.addDrive(missing, 'raw');
    expect(r.ok).toBe(false);
    expect(r.error).toBe(`${missing}: No such file or directory`);
    const real = join(dir, '-we"ird name.img');
    writeFileSync(real, Buffer.alloc(1024 * 1024));
    expect(await s.addDrive(real, 'raw')).toMatchObject({ ok: true, error: null });
    // The format is always explicit; libguestfs itself refuses a malformed one.
    const bad = await s.call('add-drive', [real, opt('readonly', true), opt('format', 'raw,file=/etc/passwd')]);
    expect(bad.ok).toBe(false);
    expect(bad.error).toContain('format');
  });

  it('reads nothing before the appliance runs, and says why', async () => {
    const r = await s.readGuestFile('/etc/fstab');
    expect(r.data).toBeNull();
    expect(r.error).toContain('call launch');
  });

  it('ends cleanly: the process group is gone, later calls reject with GuestfishExitedError', async () => {
    const own = await GuestfishSession.open({ run: (r) => runTool(r), env: {}, workDir: join(dir, 'second') });
    expect((await own.call('echo', ['x'])).out).toBe('x\n');
    const pgid = own.pgid!;
    expect(liveGroupMembers(pgid).length).toBeGreaterThan(0);
    await own.close(5000);
    expect(own.alive).toBe(false);
    expect(liveGroupMembers(pgid)).toEqual([]);
    await expect(own.call('echo', ['y'])).rejects.toBeInstanceOf(GuestfishExitedError);
  });

  it('fails pending commands when guestfish is killed', async () => {
    const own = await GuestfishSession.open({ run: (r) => runTool(r), env: {}, workDir: join(dir, 'third') });
    await own.call('echo', ['up']);
    const pgid = own.pgid!;
    own.kill();
    await own.done.catch(() => undefined);
    await expect(own.call('echo', ['too late'])).rejects.toBeInstanceOf(GuestfishExitedError);
    expect(liveGroupMembers(pgid)).toEqual([]);
    await own.close(1000);
  });
});
