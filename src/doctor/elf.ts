// Reading what a shared library needs, from its ELF file alone: the CPU it was built for
// (e_machine) and the symbol versions it asks of other libraries (.gnu.version_r), so doctor can
// say "built for arm64" or "needs GLIBC_2.38, this host has 2.34" before anything is loaded.
// Layout: the System V ABI (ELF header, section headers) and the LSB's symbol versioning
// (Elfxx_Verneed / Elfxx_Vernaux).

/** What doctor reads from a `.node` file. */
export interface ElfInfo {
  /** 32 or 64. */
  readonly bits: 32 | 64;
  /** The e_machine number. */
  readonly machine: number;
  /** Node's name for that CPU (`x64`, `arm64`, …) or `machine <n>` for one Node does not run on. */
  readonly arch: string;
  /** Every (library, version) pair of .gnu.version_r, e.g. { file: 'libc.so.6', version: 'GLIBC_2.17' }. */
  readonly needed: readonly { readonly file: string; readonly version: string }[];
}

/** A file that is not an ELF shared library we can read; the message says what it is instead. */
export class ElfError extends Error {
  override name = 'ElfError';
}

/** e_machine values of the CPUs Node runs on, by `process.arch`. */
const MACHINES: Readonly<Record<number, string>> = {
  3: 'ia32',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390x',
  40: 'arm',
  62: 'x64',
  183: 'arm64',
  243: 'riscv64',
  258: 'loong64',
};

const SHT_GNU_VERNEED = 0x6ffffffe;

/** Node's name for an e_machine value. */
export function archOfMachine(machine: number): string {
  return MACHINES[machine] ?? `machine ${machine}`;
}

/** Reads the header and the version needs of `bytes` (a whole ELF file). Throws ElfError. */
export function readElf(bytes: Buffer): ElfInfo {
  if (bytes.length < 52 || bytes.readUInt32BE(0) !== 0x7f454c46) {
    throw new ElfError(`not an ELF file (it starts with ${JSON.stringify(bytes.subarray(0, 8).toString('latin1'))})`);
  }
  const bits = bytes[4] === 2 ? 64 : bytes[4] === 1 ? 32 : undefined;
  const little = bytes[5] === 1 ? true : bytes[5] === 2 ? false : undefined;
  if (bits === undefined || little === undefined) throw new ElfError('an ELF file of an unknown class or byte order');
  const u16 = (at: number) => (little ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number) => (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const addr = (at: number) =>
    bits === 64 ? Number(little ? bytes.readBigUInt64LE(at) : bytes.readBigUInt64BE(at)) : u32(at);
  const machine = u16(18);
  const shoff = addr(bits === 64 ? 0x28 : 0x20);
  const shentsize = u16(bits === 64 ? 0x3a : 0x2e);
  const shnum = u16(bits === 64 ? 0x3c : 0x30);
  if (shoff === 0 || shnum === 0 || shoff + shentsize * shnum > bytes.length) {
    throw new ElfError('an ELF file without (or with cut-off) section headers: truncated?');
  }
  const section = (index: number) => {
    const at = shoff + index * shentsize;
    return bits === 64
      ? { type: u32(at + 4), offset: addr(at + 24), size: addr(at + 32), link: u32(at + 40), info: u32(at + 44) }
      : { type: u32(at + 4), offset: u32(at + 16), size: u32(at + 20), link: u32(at + 24), info: u32(at + 28) };
  };
  const needed: { file: string; version: string }[] = [];
  for (let index = 0; index < shnum; index++) {
    const verneed = section(index);
    if (verneed.type !== SHT_GNU_VERNEED) continue;
    const strings = section(verneed.link);
    const text = (offset: number) => {
      const start = strings.offset + offset;
      const end = bytes.indexOf(0, start);
      if (start >= bytes.length || end < 0) throw new ElfError('a version name outside the file: truncated?');
      return bytes.toString('latin1', start, end);
    };
    // Elfxx_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32 (the same
    // in both classes); Elfxx_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
    let entry = verneed.offset;
    for (let n = 0; n < verneed.info && entry + 16 <= bytes.length; n++) {
      const file = text(u32(entry + 4));
      let aux = entry + u32(entry + 8);
      for (let k = 0; k < u16(entry + 2) && aux + 16 <= bytes.length; k++) {
        needed.push({ file, version: text(u32(aux + 8)) });
        const next = u32(aux + 12);
        if (next === 0) break;
        aux += next;
      }
      const next = u32(entry + 12);
      if (next === 0) break;
      entry += next;
    }
  }
  return { bits, machine, arch: archOfMachine(machine), needed };
}

/** The highest `GLIBC_x.y` among `needed`, as [x, y], or undefined when it needs none. */
export function newestGlibc(needed: ElfInfo['needed']): number[] | undefined {
  let newest: number[] | undefined;
  for (const { version } of needed) {
    const match = /^GLIBC_(\d+(?:\.\d+)*)$/.exec(version);
    if (!match?.[1]) continue;
    const parts = match[1].split('.').map(Number);
    if (newest === undefined || compareVersions(parts, newest) > 0) newest = parts;
  }
  return newest;
}

/** Compares dotted versions given as number arrays: negative, zero or positive. */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
