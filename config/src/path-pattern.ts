/**
 * The route path grammar, defined once: how a pattern is written and checked (the route-file
 * validator), how patterns are ordered (a literal segment beats a parameter beats a final `*`,
 * left to right, whatever the order of the file), and when two patterns can match the same
 * path. The gateway's matcher only walks the compiled segments.
 *
 * A pattern is a list of `/`-separated segments: a literal, a `{name}` parameter matching one
 * non-empty segment, or a final `*` matching one or more remaining segments.
 */
export type PatternSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "rest" };

const PARAM_NAME = "[A-Za-z_][A-Za-z0-9_]*";
/** RFC 3986 unreserved and sub-delims (minus ";", "*") plus ":" and "@": what a literal may hold. */
const LITERAL_CHAR = "[A-Za-z0-9\\-._~!$&'()+,=:@]";
const PARAM = new RegExp(`^\\{(${PARAM_NAME})\\}$`);
const LITERAL = new RegExp(`^${LITERAL_CHAR}+$`);

/**
 * The same grammar as one regular expression (ECMA-262, `u` flag), for the route file's JSON
 * Schema so an editor flags a bad path as it is typed. {@link compilePattern} stays the
 * reference: it also says why a path is refused. A test keeps the two in agreement.
 */
export const PATH_PATTERN_SOURCE = (() => {
  // A segment is a parameter or a literal other than "." and "..".
  const segment = `(?:\\{${PARAM_NAME}\\}|(?!\\.\\.?(?:/|$))${LITERAL_CHAR}+)`;
  // No parameter named twice; segments; then an optional final "*" (or the trailing "/" of `/app/`).
  return `^(?!.*\\{(${PARAM_NAME})\\}.*\\{\\1\\})/(?:${segment}/)*(?:${segment}|\\*)?$`;
})();

/** Compiles a pattern, or returns why it is not one (phrased for a route-file problem line). */
export function compilePattern(path: string): { segments: PatternSegment[]; params: string[] } | { problem: string } {
  const quoted = JSON.stringify(path);
  if (!path.startsWith("/")) return { problem: `${quoted} must start with "/"` };
  const parts = path.slice(1).split("/");
  const segments: PatternSegment[] = [];
  const params: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    const param = PARAM.exec(part);
    if (param) {
      if (params.includes(param[1]!)) return { problem: `${quoted} names {${param[1]}} twice` };
      params.push(param[1]!);
      segments.push({ kind: "param", name: param[1]! });
    } else if (part === "*") {
      if (!last) return { problem: `${quoted}: "*" may only end a pattern` };
      segments.push({ kind: "rest" });
    } else if (part === "") {
      // Only a trailing slash may leave a segment empty (`/app/`).
      if (!last) return { problem: `${quoted} has an empty segment` };
      segments.push({ kind: "literal", value: "" });
    } else if (!LITERAL.test(part) || part === "." || part === "..") {
      return { problem: `${quoted} is not a valid pattern (segment ${JSON.stringify(part)})` };
    } else {
      segments.push({ kind: "literal", value: part });
    }
  }
  return { segments, params };
}

/** Compiles a pattern known to be valid (the built-in routes); throws otherwise. */
export function compileKnownPattern(path: string): PatternSegment[] {
  const compiled = compilePattern(path);
  if ("problem" in compiled) throw new Error(compiled.problem);
  return compiled.segments;
}

const RANK = { literal: 0, param: 1, rest: 2 } as const;

/** Sort order of the matcher: the more specific pattern first. */
export function bySpecificity(a: readonly PatternSegment[], b: readonly PatternSegment[]): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const left = a[i];
    const right = b[i];
    if (!left || !right) return left ? -1 : 1;
    if (RANK[left.kind] !== RANK[right.kind]) return RANK[left.kind] - RANK[right.kind];
  }
  return 0;
}

/** Two patterns no specificity rule separates: they match exactly the same paths. */
export function sameShape(a: readonly PatternSegment[], b: readonly PatternSegment[]): boolean {
  return a.length === b.length && a.every((part, i) => {
    const other = b[i]!;
    if (part.kind !== other.kind) return false;
    return part.kind !== "literal" || part.value === (other as { value: string }).value;
  });
}

/**
 * A pattern as an upstream that normalizes paths may read it: literals in lower case (servers
 * that ignore case), and no trailing empty segment (servers that ignore a trailing slash or
 * redirect to the path without it). Two patterns whose loose forms overlap may reach the same
 * upstream handler.
 */
export function loosePattern(pattern: readonly PatternSegment[]): PatternSegment[] {
  const loose = pattern.map((part) => (part.kind === "literal" ? { kind: "literal" as const, value: part.value.toLowerCase() } : part));
  const last = loose[loose.length - 1];
  if (loose.length > 1 && last?.kind === "literal" && last.value === "") loose.pop();
  return loose;
}

/** True when some path is matched by both patterns. */
export function patternsOverlap(a: readonly PatternSegment[], b: readonly PatternSegment[]): boolean {
  for (let i = 0; ; i++) {
    const left = a[i];
    const right = b[i];
    if (left === undefined || right === undefined) return left === right;
    // "*" takes one or more non-empty segments: it meets anything that still has a segment to give.
    if (left.kind === "rest") return right.kind !== "literal" || right.value !== "" || b.length > i + 1;
    if (right.kind === "rest") return left.kind !== "literal" || left.value !== "" || a.length > i + 1;
    if (left.kind === "literal" && right.kind === "literal") {
      if (left.value !== right.value) return false;
    } else if ((left.kind === "literal" && left.value === "") || (right.kind === "literal" && right.value === "")) {
      // A parameter never matches an empty segment.
      return false;
    }
  }
}
