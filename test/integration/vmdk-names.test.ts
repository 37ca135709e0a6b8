// vmdk descriptors name their extents in UTF-8: a VM called "Büro-PC" must inspect and convert
// with its split and flat extents found, read in and written out under their real names.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvertPayload } from '../../shared/protocol';
import { descriptorText } from '../../electron/engine/image/magic';
import { probeImage } from '../../electron/engine/image/facts';
import { runTool } from '../../electron/tools/spawn';
import { fixtures } from '../support/fixtures';
import { convertSpec, runConvert } from './convert-helpers';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-names-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('descriptorText', () => {
  it('reads UTF-8, and windows-1252 when the descriptor declares it', () => {
    const utf8 = Buffer.from('# Disk DescriptorFile\nencoding="UTF-8"\nRW 8 FLAT "Büro-PC-flat.vmdk" 0\n', 'utf8');
    expect(descriptorText(utf8)).toContain('"Büro-PC-flat.vmdk"');
    const undeclared = Buffer.from('# Disk DescriptorFile\nRW 8 FLAT "Büro-PC-flat.vmdk" 0\n', 'utf8');
    expect(descriptorText(undeclared)).toContain('"Büro-PC-flat.vmdk"');
    const cp1252 = Buffer.from('# Disk DescriptorFile\nencoding="windows-1252"\nRW 8 FLAT "Büro-PC-flat.vmdk" 0\n', 'latin1');
    expect(descriptorText(cp1252)).toContain('"Büro-PC-flat.vmdk"');
  });
});

describe('a vmdk whose name is not ASCII', () => {
  for (const subformat of ['monolithicFlat', 'twoGbMaxExtentSparse'] as const) {
    it(`${subformat}: inspected with its extents, converted from and to`, async () => {
      const src = join(dir, `Büro-PC ${subformat}.vmdk`);
      await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${subformat}`, fixtures['pattern-raw'], src]);
      const facts = await probeImage((r) => runTool(r), src, { check: false, measure: false });
      expect(facts.extents.length).toBeGreaterThan(0);
      expect(facts.extents.every((e) => e.exists && e.path.includes('Büro-PC'))).toBe(true);

      const outDir = mkdtempSync(join(dir, 'out-'));
      const output = join(outDir, `Überführt ${subformat}.vmdk`);
      const { output: out } = await runConvert(convertSpec({ disks: [{ source: src, output }], format: 'vmdk', vmdk_subformat: subformat, verify: 'compare' }));
      const payload = out.payload as ConvertPayload;
      expect(payload.disks[0]!.verification.ok).toBe(true);
      const names = readdirSync(outDir).sort();
      expect(names).toContain(`Überführt ${subformat}.vmdk`);
      expect(names.length).toBeGreaterThan(1);
      expect(names.every((n) => n.startsWith('Überführt '))).toBe(true);
      await execa('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'vmdk', fixtures['pattern-raw'], output]);
    });
  }
});
