/**
 * Publish-ahead key rotation around Better Auth's jwt plugin.
 *
 * Better Auth rotates lazily: the first signing after a key expires mints a new key and signs
 * with it at once, so a gateway that fetched the JWKS a moment earlier meets an unknown `kid`.
 * Careful identity providers publish the next key first and sign with it only later. This
 * module takes key selection away from Better Auth (through the plugin's `adapter.getJwks`
 * hook) and decides, from the rows of the `jwks` table alone:
 *
 * - the keys form a sequence ordered by `createdAt` (= when the key was first published);
 * - key 0 signs from its creation (no token could exist before it); key i > 0 signs from
 *   `createdAt + lead`, so it is in every JWKS response for at least `lead` seconds first;
 * - the signing key is the newest key whose activation time has passed; a key whose
 *   `expiresAt` has passed keeps signing until its successor is active (never an unpublished key);
 * - a key leaves the JWKS `grace` seconds after its successor became active;
 * - with rotation on, the successor is minted `lead` seconds before the current key's
 *   `expiresAt` (= activation + interval); an algorithm change mints a successor at once.
 *
 * Better Auth then only ever sees one key without an expiry when it signs, so it never mints
 * lazily, and it sees the published set when it serves `/jwks`. Nothing extra is stored: a
 * restart, a second instance or a changed lead time reads the same sequence from the table.
 */
import type { GenericEndpointContext } from "better-auth";
import { createJwk, resolveSigningKey, type Jwk, type JwtOptions, type ResolvedSigningKey } from "better-auth/plugins/jwt";
import type { AuthServiceJwtAlgorithm } from "@todo-gateway/config";

/** A row of Better Auth's `jwks` table as the adapter returns it. */
export type KeyRow = Jwk;

export interface RotationPolicy {
  /** Algorithm new keys are minted for. */
  readonly algorithm: AuthServiceJwtAlgorithm;
  /** Seconds a key signs before its successor takes over; 0 = never rotate. */
  readonly intervalS: number;
  /** Seconds a new key is published before it signs. */
  readonly leadS: number;
  /** Seconds a retired key stays published. */
  readonly graceS: number;
}

export interface KeyPlan {
  /** The key that signs now (`undefined` only when the table is empty). */
  readonly signing: KeyRow | undefined;
  /** The keys to serve in the JWKS: pending, current and recently retired. */
  readonly published: readonly KeyRow[];
  /** A successor is due: mint one with this `expiresAt` (`null`: no expiry). */
  readonly mint: { readonly expiresAt: Date | null } | undefined;
}

/**
 * Pure planning: which key signs, which keys are published and whether a new key is due, for
 * the given rows at `now` (ms since the epoch). Tested against a pinned clock.
 */
export function planKeys(rows: readonly KeyRow[], now: number, policy: RotationPolicy): KeyPlan {
  const lead = policy.leadS * 1000;
  const grace = policy.graceS * 1000;
  const interval = policy.intervalS * 1000;
  const keys = [...rows].sort((a, b) => time(a.createdAt) - time(b.createdAt) || a.id.localeCompare(b.id));
  if (keys.length === 0) {
    return { signing: undefined, published: [], mint: { expiresAt: interval > 0 ? new Date(now + interval) : null } };
  }
  const activation = (i: number): number => (i === 0 ? time(keys[0]!.createdAt) : time(keys[i]!.createdAt) + lead);

  let current = 0;
  for (let i = keys.length - 1; i > 0; i--) {
    if (activation(i) <= now) {
      current = i;
      break;
    }
  }
  const published = keys.filter((_, i) => i >= current || now < activation(i + 1) + grace);

  const last = keys.length - 1;
  const newest = keys[last]!;
  let mint: KeyPlan["mint"];
  if ((newest.alg ?? policy.algorithm) !== policy.algorithm) {
    // Algorithm changed: publish a key of the new algorithm now; it signs after the lead time.
    mint = { expiresAt: interval > 0 ? new Date(now + lead + interval) : null };
  } else if (interval > 0) {
    // A key minted while rotation was off has no expiry: its term counts from its activation.
    const expiresAt = newest.expiresAt ? time(newest.expiresAt) : activation(last) + interval;
    if (now >= expiresAt - lead) {
      mint = { expiresAt: new Date(Math.max(expiresAt, now + lead) + interval) };
    }
  }
  return { signing: keys[current], published, mint };
}

function time(value: Date | string | number): number {
  return value instanceof Date ? value.getTime() : new Date(value).getTime();
}

/** What the keyring needs from a Better Auth context (an endpoint's, or `auth.$context`). */
type ContextLike = { readonly context: object; readonly path?: string };

export interface KeyRingOptions {
  readonly policy: RotationPolicy;
  /** The clock, ms since the epoch; injectable so tests can rotate without waiting. */
  readonly now?: () => number;
  readonly onMint?: (key: KeyRow, plan: { activatesAt: Date }) => void;
}

/**
 * The long-lived key manager. Plug {@link KeyRing.adapter} into `jwt({ adapter })` and call
 * {@link KeyRing.attach} with the final plugin options (needed to mint keys exactly the way
 * Better Auth does, private key encrypted with the secret).
 */
export class KeyRing {
  readonly policy: RotationPolicy;
  private readonly now: () => number;
  private readonly onMint: KeyRingOptions["onMint"];
  private pluginOptions: JwtOptions | undefined;
  private minting: Promise<void> | undefined;
  private plannedExpiry: Date | null = null;

  constructor(options: KeyRingOptions) {
    this.policy = options.policy;
    this.now = options.now ?? Date.now;
    this.onMint = options.onMint;
  }

  /** The `adapter` option of Better Auth's jwt plugin. */
  readonly adapter = {
    getJwks: async (ctx: GenericEndpointContext): Promise<Jwk[]> => {
      const plan = await this.sync(ctx);
      // Better Auth's `/jwks` endpoint filters by expiresAt + its own grace, and its signer
      // re-mints an expired key: hand it rows without `expiresAt`, the decision is made here.
      if (isJwksRequest(ctx)) return plan.published.map(withoutExpiry);
      return plan.signing ? [withoutExpiry(plan.signing)] : [];
    },
    createJwk: async (data: Omit<Jwk, "id">, ctx: GenericEndpointContext): Promise<Jwk> => {
      const row = { ...data, createdAt: new Date(this.now()), ...(this.plannedExpiry ? { expiresAt: this.plannedExpiry } : {}) };
      return ctx.context.adapter.create<Record<string, unknown>, Jwk>({ model: "jwks", data: row });
    },
  };

  /** Gives the keyring the plugin options it mints with (the ones holding {@link KeyRing.adapter}). */
  attach(options: JwtOptions): void {
    // Better Auth must not schedule expiries itself: the keyring sets `expiresAt`.
    this.pluginOptions = { ...options, jwks: { ...options.jwks, rotationInterval: undefined } };
  }

  /** Reads the rows, mints a due successor (once, even under concurrent calls) and returns the plan. */
  async sync(ctx: ContextLike): Promise<KeyPlan> {
    let plan = planKeys(await this.rows(ctx), this.now(), this.policy);
    if (plan.mint === undefined) return plan;
    if (this.minting === undefined) {
      const due = plan.mint;
      this.minting = this.mint(ctx, due.expiresAt).finally(() => {
        this.minting = undefined;
      });
    }
    await this.minting;
    plan = planKeys(await this.rows(ctx), this.now(), this.policy);
    return plan;
  }

  /**
   * Decrypts and imports the signing key exactly as signing does, once at start: a changed
   * `BETTER_AUTH_SECRET` would otherwise pass every health probe while every `/token` fails.
   * Throws Better Auth's "Failed to decrypt private key" error.
   */
  async checkSigningKey(ctx: ContextLike): Promise<void> {
    await this.signingKey(ctx);
  }

  /**
   * The key that signs tokens now, decrypted and imported by Better Auth's own
   * `resolveSigningKey`: what anything else this service signs (revocation events) must use.
   */
  async signingKey(ctx: ContextLike): Promise<ResolvedSigningKey> {
    if (this.pluginOptions === undefined) throw new Error("KeyRing.attach() was not called");
    const key = await resolveSigningKey(ctx as GenericEndpointContext, this.pluginOptions);
    // Null only with a custom `jwt.sign`, which this service never configures.
    if (key === null) throw new Error("the jwt plugin signs remotely; there is no local signing key");
    return key;
  }

  private async rows(ctx: ContextLike): Promise<KeyRow[]> {
    return (ctx as GenericEndpointContext).context.adapter.findMany<KeyRow>({ model: "jwks" });
  }

  private async mint(ctx: ContextLike, expiresAt: Date | null): Promise<void> {
    if (this.pluginOptions === undefined) throw new Error("KeyRing.attach() was not called");
    this.plannedExpiry = expiresAt;
    try {
      const before = (await this.rows(ctx)).length;
      const key = await createJwk(ctx as GenericEndpointContext, this.pluginOptions);
      const activatesAt = new Date(time(key.createdAt) + (before === 0 ? 0 : this.policy.leadS * 1000));
      this.onMint?.(key, { activatesAt });
    } finally {
      this.plannedExpiry = null;
    }
  }
}

function withoutExpiry(row: KeyRow): KeyRow {
  const { expiresAt: _expiresAt, ...rest } = row;
  return rest;
}

function isJwksRequest(ctx: { path?: string }): boolean {
  return typeof ctx.path === "string" && /(^|\/)jwks$/.test(ctx.path);
}
