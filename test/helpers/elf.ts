// Reads what a shared library asks of its host from the ELF file itself, for any architecture
// (the tests check an arm64 binary on an x64 machine, where the system's objdump may not read it).
import { readFileSync } from 'node:fs';

/** ELF e_machine values of the architectures the bundle ships. */
export const ELF_MACHINE = { x64: 62, arm64: 183 } as const;

/** What the ELF header and the version-needed section (.gnu.version_r) say. */
export interface ElfFacts {
  /** e_machine: 62 x86-64, 183 AArch64. */
  readonly machine: number;
  /** ET_DYN (3) for a shared object. */
  readonly type: number;
  /** The symbol versions needed from each library, e.g. { 'libc.so.6': ['GLIBC_2.17', …] }. */
  readonly versionsNeeded: Readonly<Record<string, readonly string[]>>;
}

const SHT_GNU_VERNEED = 0x6ffffffe;

/** Parses a 64-bit little-endian ELF file (both architectures the bundle ships are). */
export function readElf(file: string): ElfFacts {
  const bytes = readFileSync(file);
  if (bytes.toString('latin1', 0, 4) !== '\x7fELF') throw new Error(`${file} is not an ELF file`);
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF file`);
  const type = bytes.readUInt16LE(16);
  const machine = bytes.readUInt16LE(18);
  const sectionOffset = Number(bytes.readBigUInt64LE(40));
  const sectionSize = bytes.readUInt16LE(58);
  const sectionCount = bytes.readUInt16LE(60);
  const section = (index: number) => {
    const at = sectionOffset + index * sectionSize;
    return {
      type: bytes.readUInt32LE(at + 4),
      offset: Number(bytes.readBigUInt64LE(at + 24)),
      link: bytes.readUInt32LE(at + 40),
      info: bytes.readUInt32LE(at + 44),
    };
  };
  const versionsNeeded: Record<string, string[]> = {};
  for (let index = 0; index < sectionCount; index++) {
    const verneed = section(index);
    if (verneed.type !== SHT_GNU_VERNEED) continue;
    const strings = section(verneed.link).offset;
    const text = (at: number) => bytes.toString('latin1', strings + at, bytes.indexOf(0, strings + at));
    let entry = verneed.offset;
    for (let n = 0; n < verneed.info; n++) {
      const count = bytes.readUInt16LE(entry + 2);
      const library = text(bytes.readUInt32LE(entry + 4));
      const names = versionsNeeded[library] ?? [];
      versionsNeeded[library] = names;
      let aux = entry + bytes.readUInt32LE(entry + 8);
      for (let k = 0; k < count; k++) {
        names.push(text(bytes.readUInt32LE(aux + 8)));
        aux += bytes.readUInt32LE(aux + 12);
      }
      const next = bytes.readUInt32LE(entry + 12);
      if (next === 0) break;
      entry += next;
    }
  }
  return { machine, type, versionsNeeded };
}

/** The highest GLIBC_x.y among `names` as [x, y], or undefined when there is none. */
export function highestGlibc(names: readonly string[]): [number, number] | undefined {
  let highest: [number, number] | undefined;
  for (const name of names) {
    const match = /^GLIBC_(\d+)\.(\d+)/.exec(name);
    if (!match) continue;
    const version: [number, number] = [Number(match[1]), Number(match[2])];
    if (!highest || version[0] > highest[0] || (version[0] === highest[0] && version[1] > highest[1]))
      highest = version;
  }
  return highest;
}
