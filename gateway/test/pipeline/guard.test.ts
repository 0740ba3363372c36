/**
 * The guard stage on its own: which request targets and Host headers get past it, and the
 * exact refusal each of the others gets. The same attacks over real sockets are in
 * security/path-traversal.test.ts and security/host-header.test.ts.
 */
import { describe, expect, it } from "vitest";
import { MalformedTargetError } from "../../src/errors.ts";
import { decodeSegment, guardHost, guardTarget } from "../../src/pipeline/guard.ts";

/** The refusal a call throws, for its class and detail. */
function refusal(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error("expected a refusal, got none");
}

function expectMalformed(call: () => unknown, detail: string): void {
  const error = refusal(call);
  expect(error).toBeInstanceOf(MalformedTargetError);
  expect(error).toMatchObject({ code: "malformed_target", status: 400, detail });
}

const RAW_PATH = "the path contains characters that must be percent-encoded";
const RAW_QUERY = "the query contains characters that must be percent-encoded";
const EMPTY_SEGMENT = "the path contains an empty segment";
const DOT_SEGMENT = "the path contains a dot segment";
const MALFORMED_ESCAPE = "the path contains a malformed percent-escape";
const ENCODED_SEPARATOR = "the path contains an encoded slash or backslash";
const ENCODED_CONTROL = "the path contains an encoded control character";
const ENCODED_SEMICOLON = "the path contains an encoded semicolon";
const NOT_UTF8 = "the path contains a percent-escape that is not UTF-8";

describe("guardTarget accepts plain origin-form targets", () => {
  it.each([
    ["the root", "/", [""]],
    ["a plain path", "/api/alice/tasks", ["api", "alice", "tasks"]],
    ["a trailing slash as a last empty segment", "/app/", ["app", ""]],
    ["a query, which is not split into segments", "/api/alice/tasks?status=all&x=1", ["api", "alice", "tasks"]],
    ["an empty query", "/api/alice/tasks?", ["api", "alice", "tasks"]],
    ["a query holding / and ?", "/a?next=/b?c", ["a"]],
    ["a query holding raw braces, quotes, backslashes and pipes", '/a?q={"x":[1]}|^`<>\\', ["a"]],
    ["a query with a semicolon", "/a?x=1;y=2", ["a"]],
    ["a query escape that is not well formed (the query does not route)", "/a?x=%zz", ["a"]],
    ["escapes, kept encoded", "/api/al%20ice/t%C3%A9sks", ["api", "al%20ice", "t%C3%A9sks"]],
    ["an escaped percent sign (%25)", "/api/%252e%252e/tasks", ["api", "%252e%252e", "tasks"]],
    ["escaped ? and # inside a segment", "/a/%3F%23", ["a", "%3F%23"]],
    ["an escape of a letter", "/api/alice/%74asks", ["api", "alice", "%74asks"]],
    ["RFC 3986 sub-delims, ':' and '@' raw", "/a/!$&'()*+,=:@~-._", ["a", "!$&'()*+,=:@~-._"]],
    ["dots that are not a dot segment", "/a/.../.b/c./..d", ["a", "...", ".b", "c.", "..d"]],
    ["encoded dots that are not a dot segment", "/a/%2e%2e%2e/%2Eb", ["a", "%2e%2e%2e", "%2Eb"]],
    ["a non-UTF-8 escape (refused by decodeSegment where a segment is compared)", "/a/%ff", ["a", "%ff"]],
    ["an escaped DEL neighbour and C1 bytes, which are not ASCII controls", "/a/%7e%80%9f", ["a", "%7e%80%9f"]],
  ])("accepts %s", (_behaviour, target, segments) => {
    expect(guardTarget(target)).toEqual({ segments });
  });
});

describe("guardTarget refuses what an upstream might read differently", () => {
  it.each([
    ["an absolute-form target", "http://example.com/api/alice/tasks"],
    ["an https absolute-form target", "https://example.com/"],
    ["the asterisk form", "*"],
    ["an authority-form target", "example.com:443"],
    ["a relative path", "api/alice/tasks"],
    ["an empty target", ""],
    ["a target with leading whitespace", " /api"],
    ["a target starting with a backslash", "\\api\\alice"],
  ])("refuses %s as not origin-form", (_behaviour, target) => {
    expectMalformed(() => guardTarget(target), "only origin-form request targets are accepted");
  });

  it.each([
    ["a raw space", "/api/al ice/tasks"],
    ["a raw backslash", "/api/alice\\..\\bob/tasks"],
    ["a raw semicolon (a path parameter)", "/api/alice/tasks;jsessionid=1"],
    ["a raw fragment mark", "/api/alice/tasks#frag"],
    ["a raw tab", "/api/alice\t/tasks"],
    ["a raw NUL", "/api/alice\u0000/tasks"],
    ["a raw DEL", "/api/alice\u007f/tasks"],
    ["raw non-ASCII", "/api/alicé/tasks"],
    ["raw braces", "/api/{user_id}/tasks"],
    ["raw square brackets", "/api/[alice]/tasks"],
    ["a raw double quote", '/api/"alice"/tasks'],
    ["a raw pipe", "/api/alice|bob/tasks"],
    ["raw angle brackets", "/api/<alice>/tasks"],
    ["a raw caret", "/api/al^ice/tasks"],
    ["a raw backtick", "/api/al`ice/tasks"],
  ])("refuses %s in the path", (_behaviour, target) => {
    expectMalformed(() => guardTarget(target), RAW_PATH);
  });

  it.each([
    ["a raw fragment mark", "/api/alice/tasks?x=1#frag"],
    ["a raw space", "/api/alice/tasks?x=a b"],
    ["a raw tab", "/api/alice/tasks?x=\t"],
    ["a raw control", "/api/alice/tasks?x=\u0001"],
    ["a raw DEL", "/api/alice/tasks?x=\u007f"],
    ["raw non-ASCII", "/api/alice/tasks?x=é"],
  ])("refuses %s in the query", (_behaviour, target) => {
    expectMalformed(() => guardTarget(target), RAW_QUERY);
  });

  it("checks the query before the path", () => {
    expectMalformed(() => guardTarget("/a b?c d"), RAW_QUERY);
  });

  it.each([
    ["a leading double slash", "//api/alice/tasks"],
    ["a double slash inside", "/api//alice/tasks"],
    ["a double slash at the end", "/api/alice/tasks//"],
    ["a double slash before a dot segment", "/api/alice//../bob"],
  ])("refuses %s as an empty segment", (_behaviour, target) => {
    expectMalformed(() => guardTarget(target), EMPTY_SEGMENT);
  });

  it.each([
    ["a raw '..' inside", "/api/alice/../bob/tasks"],
    ["a raw '..' at the end", "/api/alice/tasks/.."],
    ["a raw '.' at the end", "/api/alice/tasks/."],
    ["a raw '.' inside", "/api/./alice/tasks"],
    ["a raw '.' as the whole path", "/."],
    ["a raw '..' as the whole path", "/.."],
    ["an encoded '..' in lower case", "/api/alice/%2e%2e/bob/tasks"],
    ["an encoded '..' in upper case", "/api/alice/%2E%2E/bob/tasks"],
    ["an encoded '..' in mixed case", "/api/alice/%2E%2e/bob/tasks"],
    ["an encoded '.'", "/api/%2e/alice/tasks"],
    ["an encoded '.' at the end", "/api/alice/tasks/%2E"],
    ["a raw dot then an encoded one", "/api/alice/.%2e/bob/tasks"],
    ["an encoded dot then a raw one", "/api/alice/%2E./bob/tasks"],
    ["an encoded '..' as the first segment", "/%2e%2e/api/alice/tasks"],
  ])("refuses %s as a dot segment", (_behaviour, target) => {
    expectMalformed(() => guardTarget(target), DOT_SEGMENT);
  });

  it.each([
    ["a lone percent sign", "/api/alice%/tasks"],
    ["a percent sign at the end", "/api/alice/tasks%"],
    ["one hex digit", "/api/alice/tasks%2"],
    ["non-hex digits", "/api/%zzalice/tasks"],
    ["one non-hex digit", "/api/%2galice/tasks"],
    ["a percent sign before an escape", "/api/%%41/tasks"],
    ["IIS-style %u escapes", "/api/alice/%u002e%u002e/bob"],
  ])("refuses %s as a malformed escape", (_behaviour, target) => {
    expectMalformed(() => guardTarget(target), MALFORMED_ESCAPE);
  });

  it.each([
    ["an encoded slash in lower case", "/api/alice%2fbob/tasks"],
    ["an encoded slash in upper case", "/api/alice%2F..%2Fbob/tasks"],
    ["an encoded backslash in upper case", "/api/alice%5Cbob/tasks"],
    ["an encoded backslash in lower case", "/api/alice%5c..%5cbob/tasks"],
    ["an encoded slash after an encoded dot", "/api/%2e%2e%2fbob/tasks"],
  ])("refuses %s", (_behaviour, target) => {
    expectMalformed(() => guardTarget(target), ENCODED_SEPARATOR);
  });

  it.each([
    ["an encoded NUL", "/api/alice%00/tasks"],
    ["an encoded line feed", "/api/alice%0a/tasks"],
    ["an encoded carriage return in upper case", "/api/alice%0D%0AX-User-Id:%20bob/tasks"],
    ["an encoded tab", "/api/alice%09/tasks"],
    ["an encoded unit separator (0x1f)", "/api/alice%1f/tasks"],
    ["an encoded DEL in lower case", "/api/alice%7f/tasks"],
    ["an encoded DEL in upper case", "/api/alice%7F/tasks"],
  ])("refuses %s as an encoded control character", (_behaviour, target) => {
    expectMalformed(() => guardTarget(target), ENCODED_CONTROL);
  });

  it.each([
    ["an encoded semicolon in lower case", "/api/alice/tasks%3bjsessionid=1"],
    ["an encoded semicolon in upper case", "/api/alice%3B/tasks"],
  ])("refuses %s", (_behaviour, target) => {
    expectMalformed(() => guardTarget(target), ENCODED_SEMICOLON);
  });

  it.each([
    ["checks escapes in every segment, not only the first", "/api/alice/tasks/%2f", ENCODED_SEPARATOR],
    ["reports the first bad escape of a segment", "/api/%00%2f/tasks", ENCODED_CONTROL],
    ["reports the first bad segment", "/api/%3b/%2f", ENCODED_SEMICOLON],
    ["sees an encoded dot segment before a malformed escape elsewhere", "/api/%2e%2e/%zz", DOT_SEGMENT],
  ])("%s", (_behaviour, target, detail) => {
    expectMalformed(() => guardTarget(target), detail);
  });
});

describe("decodeSegment", () => {
  it.each([
    ["returns a segment without escapes as it is", "alice", "alice"],
    ["returns an empty segment as it is", "", ""],
    ["decodes an escaped letter", "%74asks", "tasks"],
    ["decodes an escaped space", "al%20ice", "al ice"],
    ["decodes UTF-8", "jos%C3%A9", "josé"],
    ["decodes a four-byte UTF-8 sequence", "%F0%9F%98%80", "😀"],
    ["decodes an escaped percent sign only once", "%252e", "%2e"],
    ["leaves '+' alone (it is not a space in a path)", "a+b", "a+b"],
  ])("%s", (_behaviour, segment, decoded) => {
    expect(decodeSegment(segment)).toBe(decoded);
  });

  it.each([
    ["a lone continuation byte", "%80"],
    ["a byte that never starts UTF-8", "%ff"],
    ["a truncated two-byte sequence", "al%C3"],
    ["a lead byte followed by ASCII", "%C3%28"],
    ["an overlong encoding of '/'", "%C0%AF"],
    ["an overlong encoding of '.'", "%C0%AE%C0%AE"],
    ["an encoded UTF-16 surrogate", "%ED%A0%80"],
    ["a Latin-1 escape", "caf%E9"],
  ])("refuses %s as not UTF-8", (_behaviour, segment) => {
    expectMalformed(() => decodeSegment(segment), NOT_UTF8);
  });
});

describe("guardHost", () => {
  it.each([
    ["one Host on HTTP/1.1", ["Host", "gateway.example"], 1],
    ["one Host on HTTP/1.0", ["Host", "gateway.example"], 0],
    ["no Host on HTTP/1.0", [], 0],
    ["no Host among other headers on HTTP/1.0", ["Accept", "*/*", "X-Host", "a b"], 0],
    ["a Host in upper case among other headers", ["Accept", "*/*", "HOST", "gateway.example", "User-Agent", "t"], 1],
    ["names that only contain 'host'", ["Host", "gateway.example", "X-Forwarded-Host", "x y", "Hosts", "a/b", "Ghost", "@"], 1],
  ])("accepts %s", (_behaviour, rawHeaders, minor) => {
    expect(() => guardHost(rawHeaders as string[], minor as number)).not.toThrow();
  });

  it.each([
    ["no headers at all", []],
    ["only other headers", ["Accept", "*/*", "X-Forwarded-Host", "gateway.example"]],
  ])("requires a Host on HTTP/1.1 (%s)", (_behaviour, rawHeaders) => {
    expectMalformed(() => guardHost(rawHeaders, 1), "an HTTP/1.1 request needs a Host header");
  });

  it.each([
    ["two Host headers with different values", ["Host", "a.example", "Host", "b.example"], 1],
    ["two Host headers with the same value", ["Host", "a.example", "Host", "a.example"], 1],
    ["Host headers in different cases", ["host", "a.example", "HOST", "b.example"], 1],
    ["a second Host after other headers", ["Host", "a.example", "Accept", "*/*", "hOsT", "b.example"], 1],
    ["a second Host that is empty", ["Host", "a.example", "Host", ""], 1],
    ["three Host headers", ["Host", "a.example", "Host", "a.example", "Host", "a.example"], 1],
    ["two Host headers on HTTP/1.0", ["Host", "a.example", "Host", "b.example"], 0],
  ])("refuses %s", (_behaviour, rawHeaders, minor) => {
    expectMalformed(() => guardHost(rawHeaders as string[], minor as number), "more than one Host header");
  });

  it.each([
    ["a name", "gateway.example"],
    ["a single-label name", "localhost"],
    ["a one-character name", "a"],
    ["a name in upper case", "GATEWAY.EXAMPLE"],
    ["a fully qualified name with a trailing dot", "gateway.example."],
    ["a name with underscores", "my_service.internal"],
    ["a name starting with an underscore", "_dmarc.example"],
    ["an IDNA (punycode) name", "xn--bcher-kva.example"],
    ["a name with a port", "gateway.example:8080"],
    ["an IPv4 address", "127.0.0.1"],
    ["an IPv4 address with a port", "10.0.0.1:3000"],
    ["a bracketed IPv6 address", "[::1]"],
    ["a bracketed IPv6 address with a port", "[2001:db8::1]:8443"],
    ["a bracketed IPv4-mapped IPv6 address", "[::ffff:127.0.0.1]"],
    ["port 1", "gateway.example:1"],
    ["port 65535", "gateway.example:65535"],
    ["a name of 253 characters", `${"a".repeat(251)}.b`],
  ])("accepts %s as a valid host", (_behaviour, host) => {
    expect(() => guardHost(["Host", host], 1)).not.toThrow();
  });

  it.each([
    ["an empty value", ""],
    ["an empty name with a port", ":8080"],
    ["a space inside", "gateway .example"],
    ["a leading space", " gateway.example"],
    ["a tab", "gateway\t.example"],
    ["a path", "gateway.example/api/alice"],
    ["a backslash", "gateway.example\\evil"],
    ["userinfo", "alice@gateway.example"],
    ["a double quote", 'gateway.example"><script>'],
    ["a comma (two hosts folded into one)", "a.example,b.example"],
    ["a percent-escape", "gateway%2eexample"],
    ["a query", "gateway.example?x=1"],
    ["a fragment", "gateway.example#x"],
    ["a name starting with a dot", ".gateway.example"],
    ["a name starting with a hyphen", "-gateway.example"],
    ["a name ending with a hyphen", "gateway-"],
    ["an empty port", "gateway.example:"],
    ["a non-numeric port", "gateway.example:http"],
    ["a negative port", "gateway.example:-1"],
    ["a port of six digits", "gateway.example:123456"],
    ["port 65536", "gateway.example:65536"],
    ["port 99999", "gateway.example:99999"],
    ["two ports", "gateway.example:80:81"],
    ["an unbracketed IPv6 address", "::1"],
    ["an unclosed IPv6 bracket", "[::1"],
    ["text after an IPv6 bracket", "[::1]evil"],
    ["an IPv6 bracket holding non-hex letters", "[::g]"],
    ["an IPv6 zone id", "[fe80::1%25eth0]"],
    ["a name of 254 characters", `${"a".repeat(252)}.b`],
    ["a non-ASCII name", "gätewäy.example"],
    ["a CR LF", "gateway.example\r\nX-User-Id: bob"],
  ])("refuses %s as not a valid host", (_behaviour, host) => {
    expectMalformed(() => guardHost(["Host", host], 1), "the Host header is not a valid host");
  });

  it("checks the Host of an HTTP/1.0 request too", () => {
    expectMalformed(() => guardHost(["Host", "a b"], 0), "the Host header is not a valid host");
  });
});
