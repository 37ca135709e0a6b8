/**
 * A minimal NBD client (the fixed-newstyle handshake, NBD_OPT_STRUCTURED_REPLY, NBD_OPT_GO,
 * NBD_CMD_READ with simple or structured replies, NBD_CMD_DISC), enough to read an image that
 * `qemu-nbd --read-only` serves on a Unix socket. With structured replies qemu-nbd sends the
 * zero parts of a read as holes (NBD_REPLY_TYPE_OFFSET_HOLE) instead of bytes, so a sparse
 * disk's holes never cross the socket. Used to hash what a guest sees without a temporary raw copy and without the
 * kernel's NBD driver. Protocol: https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md
 * (constants below are that document's).
 */
import { connect, type Socket } from 'node:net';

const NBDMAGIC = 0x4e42444d41474943n; // "NBDMAGIC"
const IHAVEOPT = 0x49484156454f5054n; // "IHAVEOPT"
const OPT_REPLY_MAGIC = 0x3e889045565a9n;
const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const OPT_GO = 7;
const OPT_STRUCTURED_REPLY = 8;
const REP_ACK = 1;
const REP_INFO = 3;
const INFO_EXPORT = 0;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const STRUCTURED_REPLY_MAGIC = 0x668e33ef;
const REPLY_FLAG_DONE = 1;
const REPLY_TYPE_NONE = 0;
const REPLY_TYPE_OFFSET_DATA = 1;
const REPLY_TYPE_OFFSET_HOLE = 2;
const CMD_READ = 0;
const CMD_DISC = 2;

/** Bytes read per request: well under qemu-nbd's 32 MiB maximum. */
export const NBD_READ_SIZE = 2 * 1024 * 1024;

/** A byte queue over a socket: `take(n)` resolves with exactly n bytes, in arrival order. */
class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.length += d.length;
      this.serve();
    });
    const end = (err?: Error) => this.fail(err ?? new Error('the NBD server closed the connection'));
    socket.on('error', end);
    socket.on('close', () => end());
  }

  fail(err: Error): void {
    if (!this.failure) this.failure = err;
    const w = this.waiter;
    if (w && this.length < w.n) {
      this.waiter = null;
      w.reject(this.failure);
    }
  }

  private serve(): void {
    const w = this.waiter;
    if (!w || this.length < w.n) return;
    this.waiter = null;
    w.resolve(this.consume(w.n));
  }

  private consume(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.length -= n;
    return out;
  }

  take(n: number): Promise<Buffer> {
    if (this.waiter) return Promise.reject(new Error('NBD reader: one take at a time'));
    if (this.length >= n) return Promise.resolve(this.consume(n));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }
}

/** An open NBD export. */
export interface NbdExport {
  /** Size of the export in bytes (the image's virtual size). */
  readonly size: number;
  /** Read `length` bytes at `offset`; requests may be issued before earlier ones complete. */
  read(offset: number, length: number): Promise<Buffer>;
  /** Send NBD_CMD_DISC and close; qemu-nbd (without --persistent) then exits. */
  close(): Promise<void>;
  /** Close at once (on abort). */
  destroy(): void;
}

/**
 * Connect to an NBD server on a Unix socket and open its default export (empty name).
 * Throws an Error naming the step that failed (the caller maps it to `tool_failed`).
 */
export async function nbdOpen(socketPath: string): Promise<NbdExport> {
  const socket = connect({ path: socketPath });
  socket.setNoDelay?.(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const reader = new ByteReader(socket);
  try {
    const hello = await reader.take(18);
    if (hello.readBigUInt64BE(0) !== NBDMAGIC || hello.readBigUInt64BE(8) !== IHAVEOPT) throw new Error('not a newstyle NBD server');
    const serverFlags = hello.readUInt16BE(16);
    if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) throw new Error('the NBD server does not speak fixed newstyle');
    const clientFlags = Buffer.alloc(4);
    clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES));
    socket.write(clientFlags);
    const option = (code: number, data: Buffer) => {
      const head = Buffer.alloc(16);
      head.writeBigUInt64BE(IHAVEOPT, 0);
      head.writeUInt32BE(code, 8);
      head.writeUInt32BE(data.length, 12);
      socket.write(Buffer.concat([head, data]));
    };
    /** Replies to one option until its ACK (or first error); returns the error type or 0. */
    const replies = async (onInfo: (data: Buffer) => void): Promise<number> => {
      for (;;) {
        const head = await reader.take(20);
        if (head.readBigUInt64BE(0) !== OPT_REPLY_MAGIC) throw new Error('bad NBD option reply magic');
        const type = head.readUInt32BE(12);
        const len = head.readUInt32BE(16);
        const data = len ? await reader.take(len) : Buffer.alloc(0);
        if (type & 0x80000000) return type;
        if (type === REP_INFO) onInfo(data);
        if (type === REP_ACK) return 0;
      }
    };
    option(OPT_STRUCTURED_REPLY, Buffer.alloc(0));
    const structured = (await replies(() => undefined)) === 0;
    // NBD_OPT_GO: export name length (0), no name, no information requests.
    option(OPT_GO, Buffer.alloc(6));
    let size: number | null = null;
    const refused = await replies((data) => {
      if (data.length >= 12 && data.readUInt16BE(0) === INFO_EXPORT) size = Number(data.readBigUInt64BE(2));
    });
    if (refused) throw new Error(`the NBD server refused the export (reply ${refused >>> 0})`);
    if (size === null) throw new Error('the NBD server did not say the export size');
    return transmission(socket, reader, size, structured);
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

interface Pending {
  offset: number;
  length: number;
  /** Structured replies: the buffer the chunks fill (zeroes where holes are). */
  buffer: Buffer | null;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

function transmission(socket: Socket, reader: ByteReader, size: number, structured: boolean): NbdExport {
  let nextHandle = 1n;
  const pending = new Map<bigint, Pending>();
  let closing = false;
  let failed: Error | null = null;

  const failAll = (err: Error) => {
    failed ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  // One loop reads replies (in whatever order the server sends them) and hands them out.
  void (async () => {
    try {
      for (;;) {
        const magic = (await reader.take(4)).readUInt32BE(0);
        if (magic === SIMPLE_REPLY_MAGIC) {
          const head = await reader.take(12);
          const error = head.readUInt32BE(0);
          const handle = head.readBigUInt64BE(4);
          const p = pending.get(handle);
          if (!p) throw new Error(`NBD reply for an unknown request ${handle}`);
          pending.delete(handle);
          if (error) p.reject(new Error(`the NBD server failed a read (errno ${error})`));
          else p.resolve(await reader.take(p.length));
          continue;
        }
        if (magic !== STRUCTURED_REPLY_MAGIC) throw new Error('bad NBD reply magic');
        // Structured chunk: flags u16, type u16, handle u64, length u32, then the payload.
        const head = await reader.take(16);
        const flags = head.readUInt16BE(0);
        const type = head.readUInt16BE(2);
        const handle = head.readBigUInt64BE(4);
        const length = head.readUInt32BE(12);
        const p = pending.get(handle);
        if (!p || !p.buffer) throw new Error(`NBD reply for an unknown request ${handle}`);
        const payload = length ? await reader.take(length) : Buffer.alloc(0);
        if (type === REPLY_TYPE_OFFSET_DATA) {
          const at = Number(payload.readBigUInt64BE(0)) - p.offset;
          if (at < 0 || at + length - 8 > p.length) throw new Error('NBD data chunk outside its request');
          payload.copy(p.buffer, at, 8);
        } else if (type === REPLY_TYPE_OFFSET_HOLE) {
          // The buffer was allocated zero-filled: a hole needs nothing.
          const at = Number(payload.readBigUInt64BE(0)) - p.offset;
          if (at < 0 || at + payload.readUInt32BE(8) > p.length) throw new Error('NBD hole chunk outside its request');
        } else if (type & 0x8000) {
          const errno = payload.length >= 4 ? payload.readUInt32BE(0) : 0;
          const msgLen = payload.length >= 6 ? payload.readUInt16BE(4) : 0;
          pending.delete(handle);
          p.reject(new Error(`the NBD server failed a read (errno ${errno}${msgLen ? `: ${payload.subarray(6, 6 + msgLen).toString('utf8')}` : ''})`));
          continue;
        } else if (type !== REPLY_TYPE_NONE) throw new Error(`unexpected NBD reply chunk type ${type}`);
        if (flags & REPLY_FLAG_DONE) {
          pending.delete(handle);
          p.resolve(p.buffer);
        }
      }
    } catch (err) {
      if (!closing) failAll(err as Error);
    }
  })();

  const request = (type: number, handle: bigint, offset: number, length: number) => {
    const b = Buffer.alloc(28);
    b.writeUInt32BE(REQUEST_MAGIC, 0);
    b.writeUInt16BE(0, 4);
    b.writeUInt16BE(type, 6);
    b.writeBigUInt64BE(handle, 8);
    b.writeBigUInt64BE(BigInt(offset), 16);
    b.writeUInt32BE(length, 24);
    socket.write(b);
  };

  return {
    size,
    read(offset, length) {
      if (failed) return Promise.reject(failed);
      if (offset < 0 || length <= 0 || offset + length > size) return Promise.reject(new RangeError(`NBD read ${offset}+${length} outside 0..${size}`));
      const handle = nextHandle++;
      const buffer = structured ? Buffer.alloc(length) : null;
      const p = new Promise<Buffer>((resolve, reject) => pending.set(handle, { offset, length, buffer, resolve, reject }));
      request(CMD_READ, handle, offset, length);
      return p;
    },
    async close() {
      closing = true;
      if (!socket.destroyed) {
        request(CMD_DISC, nextHandle++, 0, 0);
        await new Promise<void>((resolve) => socket.end(resolve));
      }
      socket.destroy();
      reader.fail(new Error('closed'));
    },
    destroy() {
      closing = true;
      socket.destroy();
      failAll(new Error('NBD connection closed'));
    },
  };
}
