// Hand-made BtfSpecs for CO-RE unit tests: a list of type records gets ids from 1 in order, so a
// test can state a corner case (an anonymous union, an ENUM64, a flexible array) in a few lines.
import type { BtfSpec, BtfType } from "../../archive/btf/types.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A type record before it has an id. */
export type TypeRecord = DistributiveOmit<BtfType, "id">;

/** When a unit test needs a spec: `types[i]` becomes type id i + 1. */
export function specOf(types: TypeRecord[]): BtfSpec {
  return {
    header: {
      littleEndian: true,
      version: 1,
      flags: 0,
      headerLength: 24,
      typeStart: 24,
      typeLength: 0,
      stringStart: 24,
      stringLength: 1,
    },
    types: types.map((type, index) => ({ ...type, id: index + 1 }) as BtfType),
  };
}

/** A member at a byte offset, for brevity. */
export function member(name: string, type: number, byteOffset: number, bitfieldSize = 0) {
  return { name, type, bitOffset: byteOffset * 8, bitfieldSize };
}
