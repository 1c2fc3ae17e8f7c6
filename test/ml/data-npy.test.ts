import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, loadNpy, NpyFormatError, saveNpy } from '../../src/ml/data/npy.js';

const dir = mkdtempSync(join(tmpdir(), 'npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The v1.0 header as the format spec (numpy/lib/format.py) describes it, built by hand. */
function handHeader(dict: string, total: number): Buffer {
  const len = total - 10;
  const text = `${dict.padEnd(len - 1, ' ')}\n`;
  return Buffer.concat([
    Buffer.from([0x93]),
    Buffer.from('NUMPY', 'ascii'),
    Buffer.from([1, 0, len & 0xff, len >> 8]),
    Buffer.from(text, 'latin1'),
  ]);
}

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe('npy', () => {
  it('writes the documented v1.0 header byte by byte', () => {
    const data = Float32Array.from([0, 1, 2, 3, 4, 5]);
    const bytes = encodeNpy([2, 3], data);
    const header = handHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 128);
    expect(bytes.subarray(0, 128).equals(header)).toBe(true);
    expect(bytes.length).toBe(128 + 24);
    expect(bytes.readFloatLE(128 + 4 * 5)).toBe(5);
    const one = encodeNpy([3], Uint8Array.from([7, 8, 9]));
    expect(
      one
        .subarray(0, 128)
        .equals(handHeader("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", 128)),
    ).toBe(true);
    expect([...one.subarray(128)]).toEqual([7, 8, 9]);
  });

  it('round-trips every dtype through memory and files', () => {
    const cases = [
      { shape: [2, 2, 1], data: Float32Array.from([0.25, -1.5, 3e-8, 1e30]) },
      { shape: [3], data: Float64Array.from([Math.PI, -0, 1e-300]) },
      { shape: [2, 2], data: Int32Array.from([-2147483648, 2147483647, 0, -1]) },
      { shape: [], data: Uint8Array.from([255]) },
      { shape: [0, 4], data: new Float32Array(0) },
    ];
    for (const [i, c] of cases.entries()) {
      const mem = decodeNpy(encodeNpy(c.shape, c.data));
      expect(mem.shape).toEqual(c.shape);
      expect(mem.data).toEqual(c.data);
      const path = join(dir, `case${i}.npy`);
      saveNpy(path, c.shape, c.data);
      const file = loadNpy(path);
      expect(file.shape).toEqual(c.shape);
      expect(file.data).toEqual(c.data);
      expect(readFileSync(path).equals(encodeNpy(c.shape, c.data))).toBe(true);
    }
  });

  it('reads a hand-built v2.0 file (uint32 header length)', () => {
    const text = `${"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }".padEnd(115, ' ')}\n`;
    const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0]);
    prefix.writeUInt32LE(text.length, 8);
    const body = Buffer.alloc(8);
    body.writeInt32LE(-7, 0);
    body.writeInt32LE(42, 4);
    const arr = decodeNpy(Buffer.concat([prefix, Buffer.from(text, 'latin1'), body]));
    expect(arr.dtype).toBe('int32');
    expect([...arr.data]).toEqual([-7, 42]);
  });

  it('rejects what it cannot represent, naming the file', () => {
    const fortran = handHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 64);
    expect(() => decodeNpy(Buffer.concat([fortran, Buffer.alloc(4)]), 'f.npy')).toThrow(
      /f\.npy: Fortran-order/,
    );
    const bigEndian = handHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 64);
    expect(() => decodeNpy(Buffer.concat([bigEndian, Buffer.alloc(4)]))).toThrow(
      /unsupported dtype '>f4'/,
    );
    const short = encodeNpy([4], new Float32Array(4)).subarray(0, 140);
    expect(() => decodeNpy(short)).toThrow(NpyFormatError);
    const path = join(dir, 'short.npy');
    writeFileSync(path, short);
    expect(() => loadNpy(path)).toThrow(/data size does not match/);
    expect(() => decodeNpy(Buffer.from('PK\x03\x04 not npy'))).toThrow(/not a \.npy file/);
  });

  it.skipIf(!hasNumpy)('is byte-identical to numpy.save and readable by numpy.load', () => {
    const ours = join(dir, 'ours.npy');
    const theirs = join(dir, 'theirs.npy');
    const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7);
    saveNpy(ours, [2, 3, 4], data);
    const py = spawnSync(
      'python3',
      [
        '-c',
        [
          'import numpy as np, sys',
          'a = np.load(sys.argv[1])',
          'print(a.dtype, a.shape, repr(float(a[1, 2, 3])))',
          'np.save(sys.argv[2], (np.arange(24, dtype=np.float32) / np.float32(7)).reshape(2, 3, 4))',
        ].join('\n'),
        ours,
        theirs,
      ],
      { encoding: 'utf8' },
    );
    expect(py.stderr).toBe('');
    expect(py.stdout.trim()).toBe(`float32 (2, 3, 4) ${Math.fround(23 / 7)}`);
    expect(readFileSync(theirs).equals(readFileSync(ours))).toBe(true);
  });
});
