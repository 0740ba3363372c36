/**
 * JSON.parse keeps the last of duplicated member names; a token whose payload says `sub` twice
 * may be read differently by another parser downstream, so such input is refused (RFC 7515
 * §5.2, RFC 8725 §3.1). This scanner only looks for duplicates; JSON.parse does the parsing.
 */
export function parseJsonObjectStrict(text: string): Record<string, unknown> | "invalid" | "duplicate" {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "invalid";
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "invalid";
  return hasDuplicateMembers(text) ? "duplicate" : (value as Record<string, unknown>);
}

/** Walks text already known to be valid JSON, tracking member names per open object. */
function hasDuplicateMembers(text: string): boolean {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    } else if (c === 0x22 /* " */) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      if (expectKey) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        const names = stack[stack.length - 1] as Set<string>;
        if (names.has(name)) return true;
        names.add(name);
        expectKey = false;
      }
      i = end;
    }
  }
  return false;
}
