import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import type { UpstreamCredentials } from "@todo-gateway/config";
import type { VerifiedToken } from "../auth/verifier.ts";

type MintSpec = Extract<UpstreamCredentials, { kind: "mint" }>;

const HASH = { HS256: "sha256", HS384: "sha384", HS512: "sha512" } as const;

/**
 * Mints the short-lived HS* token an upstream that verifies tokens itself expects, from a
 * client token the gateway has already verified: only the chosen claims, no `aud` unless
 * configured, `exp` a few seconds or minutes ahead. The header segment and key are prepared
 * once per route; a mint is one HMAC.
 */
export class UpstreamTokenMinter {
  private readonly key: KeyObject;
  private readonly headerSegment: string;
  private readonly hash: string;

  constructor(private readonly spec: MintSpec) {
    this.key = createSecretKey(Buffer.from(spec.secret, "utf8"));
    this.headerSegment = Buffer.from(JSON.stringify({ alg: spec.algorithm, typ: "JWT" })).toString("base64url");
    this.hash = HASH[spec.algorithm];
  }

  mint(identity: VerifiedToken, nowMs: number): string {
    const iat = Math.floor(nowMs / 1000);
    const payload: Record<string, unknown> = {};
    for (const claim of this.spec.claims) {
      const value = identity.claims[claim];
      if (value !== undefined) payload[claim] = value;
    }
    payload.iat = iat;
    payload.exp = iat + this.spec.ttlSeconds;
    if (this.spec.issuer !== undefined) payload.iss = this.spec.issuer;
    if (this.spec.audience !== undefined) payload.aud = this.spec.audience;
    const input = `${this.headerSegment}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
    return `${input}.${createHmac(this.hash, this.key).update(input).digest("base64url")}`;
  }
}
