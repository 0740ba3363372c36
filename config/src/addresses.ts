import { BlockList, isIP } from "node:net";

/**
 * Addresses and CIDR ranges (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`), read one way for
 * `TRUSTED_PROXIES`: parsed at load, matched with node:net's BlockList (IPv4-mapped IPv6
 * addresses match their IPv4 ranges).
 */
export interface AddressRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** Parses `address` or `address/prefix`; `undefined` when it is neither. */
export function parseAddressRange(text: string): AddressRange | undefined {
  const [address = "", prefixText, extra] = text.trim().split("/");
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** A matcher for a list of ranges: does an address (as a socket reports it) fall in one? */
export function addressMatcher(ranges: readonly AddressRange[]): (address: string) => boolean {
  if (ranges.length === 0) return () => false;
  const list = new BlockList();
  for (const range of ranges) list.addSubnet(range.address, range.prefix, range.family);
  return (address) => {
    const version = isIP(address);
    if (version === 0) return false;
    if (version === 6 && address.toLowerCase().startsWith("::ffff:") && isIP(address.slice(7)) === 4) {
      return list.check(address.slice(7), "ipv4") || list.check(address, "ipv6");
    }
    return list.check(address, version === 4 ? "ipv4" : "ipv6");
  };
}
