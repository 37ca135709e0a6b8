import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module of the build (no types); its exports are checked here
import { fuseProblems, unpackedExecutables } from '../../../build/hooks/verify-fuses.mjs';
import { tempDir } from '../../support/helpers';

const problems = fuseProblems as (wire: Record<number, number>) => string[];
const ON = 49;
const OFF = 48;

describe('fuse check of packaged apps (electron-builder hook)', () => {
  it('passes the hardened wire and names every fuse that is not as configured', () => {
    // Index: 0 RunAsNode, 2 NodeOptions, 3 NodeCliInspect, 4 AsarIntegrity, 5 OnlyLoadAppFromAsar
    expect(problems({ 0: OFF, 1: ON, 2: OFF, 3: OFF, 4: ON, 5: ON, 6: OFF, 7: ON })).toEqual([]);
    expect(problems({ 0: ON, 1: ON, 2: OFF, 3: ON, 4: ON, 5: OFF, 6: OFF, 7: ON })).toEqual([
      'RunAsNode is on, expected off',
      'EnableNodeCliInspectArguments is on, expected off',
      'OnlyLoadAppFromAsar is off, expected on',
    ]);
    expect(problems({ 0: OFF, 2: OFF, 3: OFF, 4: 114, 5: ON })).toEqual(['EnableEmbeddedAsarIntegrityValidation is in state 114, expected on']);
  });

  it('finds the executables of the unpacked apps', () => {
    const d = tempDir('h2k-fuses-');
    try {
      mkdirSync(`${d.path}/linux-unpacked`);
      writeFileSync(`${d.path}/linux-unpacked/hyper2kvm-workbench`, '');
      mkdirSync(`${d.path}/other`);
      expect((unpackedExecutables as (o: string, e: string, p: string) => string[])(d.path, 'hyper2kvm-workbench', 'hyper2kvm Workbench')).toEqual([
        `${d.path}/linux-unpacked/hyper2kvm-workbench`,
      ]);
    } finally {
      d.cleanup();
    }
  });
});
