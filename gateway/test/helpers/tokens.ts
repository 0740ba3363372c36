import { SignJWT, type JWTPayload } from "jose";
import { NOW_S } from "./clock.ts";
import type { SigningKey } from "./keys.ts";

export const ISSUER = "http://issuer.test";
export const AUDIENCE = "http://issuer.test";
export const HMAC_SECRET = "an-hs256-shared-secret-of-at-least-32-bytes!";

export interface MintOptions {
  readonly key: SigningKey;
  readonly sub?: string;
  readonly claims?: JWTPayload;
  /** Header members merged over `{alg, kid}`. */
  readonly header?: Record<string, unknown>;
  /** Issued-at, in seconds; defaults to the pinned clock. */
  readonly iat?: number;
  readonly lifetimeS?: number;
}

/** The one place tests mint tokens, always against the pinned clock. */
export async function mintToken({ key, sub = "user-1", claims = {}, header = {}, iat = NOW_S, lifetimeS = 900 }: MintOptions): Promise<string> {
  const payload: JWTPayload = { sub, iss: ISSUER, aud: AUDIENCE, iat, exp: iat + lifetimeS, ...claims };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header } as { alg: string })
    .sign(key.privateKey);
}

/** An HS256 token signed with a shared secret (the older deployments' mode). */
export async function mintHmacToken(secret: string, payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: NOW_S, exp: NOW_S + 900, ...payload })
    .setProtectedHeader({ alg: "HS256", ...header } as { alg: string })
    .sign(new TextEncoder().encode(secret));
}

/** Base64url of a JSON value or string, for hand-made tokens. */
export function b64url(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
}

/** Rebuilds a token with its header or payload segment replaced, keeping the signature. */
export function withSegments(token: string, replace: { header?: string; payload?: string; signature?: string }): string {
  const [header, payload, signature] = token.split(".");
  return [replace.header ?? header, replace.payload ?? payload, replace.signature ?? signature].join(".");
}

/** A revocation event (docs/revocation.md §1), signed like the auth-service signs them unless `header` says otherwise. */
export async function mintRevocationEvent(
  key: SigningKey,
  claims: Record<string, unknown>,
  { header = {}, iat = Math.floor(Date.now() / 1000), lifetimeS = 960, issuer = ISSUER } = {} as { header?: Record<string, unknown>; iat?: number; lifetimeS?: number; issuer?: string },
): Promise<string> {
  return new SignJWT({ iss: issuer, aud: "urn:todo-gateway:revocations", jti: `ev-${Math.random().toString(36).slice(2)}`, iat, exp: iat + lifetimeS, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "revocation+jwt", ...header } as { alg: string })
    .sign(key.privateKey);
}
