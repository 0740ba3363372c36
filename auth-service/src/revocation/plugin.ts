/**
 * Where Better Auth tells us a session or a user ended (stack-facts §5), as one Better Auth
 * plugin: the outbox table (so Better Auth's migrations create it), the database hooks for
 * per-session events and the after-hooks for the user-level ones (docs/revocation.md §1).
 *
 * - `session.delete.after`: one `session` event per deleted session, whatever deleted it; the
 *   reason is the endpoint that did (`session-ended` for anything else, such as an expired
 *   session being cleaned up).
 * - `user.delete.after`: a `user` event (`delete-user`).
 * - after `/revoke-sessions`, and `/change-password` with `revokeOtherSessions`: a `user` event,
 *   only when the request succeeded.
 */
import type { AuthContext, BetterAuthPlugin } from "better-auth";
import { createAuthMiddleware, isAPIError } from "better-auth/api";
import type { RevocationReason } from "@todo-gateway/config";
import { revocationEventSchema } from "./outbox.ts";
import type { RevocationRecorder } from "./recorder.ts";

/** The endpoint that deleted a session → the reason its event carries. */
const SESSION_END_REASONS: Readonly<Record<string, RevocationReason>> = {
  "/sign-out": "sign-out",
  "/revoke-session": "revoke-session",
  "/revoke-sessions": "revoke-sessions",
  "/revoke-other-sessions": "revoke-other-sessions",
  "/delete-user": "delete-user",
  "/delete-user/callback": "delete-user",
  "/change-password": "password-change",
  "/reset-password": "password-change",
};

export function sessionEndReason(path: string | undefined): RevocationReason {
  return (path !== undefined ? SESSION_END_REASONS[path] : undefined) ?? "session-ended";
}

export interface RevocationPluginOptions {
  readonly recorder: RevocationRecorder;
  /** Receives Better Auth's context once it is built (the recorder signs and writes through it). */
  readonly onInit: (context: AuthContext) => void;
}

export function revocationEvents(options: RevocationPluginOptions) {
  const { recorder } = options;
  return {
    id: "revocation-events",
    schema: revocationEventSchema,
    init(context) {
      options.onInit(context);
      return {
        options: {
          databaseHooks: {
            session: {
              delete: {
                after: async (session, ctx) => {
                  await recorder.recordSession(session.userId, session.id, sessionEndReason(ctx?.path));
                },
              },
            },
            user: {
              delete: {
                after: async (user) => {
                  await recorder.recordUser(user.id, "delete-user");
                },
              },
            },
          },
        },
      };
    },
    hooks: {
      after: [
        {
          matcher: (ctx) => ctx.path === "/revoke-sessions" || ctx.path === "/change-password",
          handler: createAuthMiddleware(async (ctx) => {
            // After-hooks run for refused requests too (403 origin, 400 wrong password).
            if (isAPIError(ctx.context.returned) || ctx.context.returned instanceof Error) return;
            const userId = ctx.context.session?.user.id;
            if (typeof userId !== "string") return;
            if (ctx.path === "/revoke-sessions") return recorder.recordUser(userId, "revoke-sessions");
            const body: unknown = ctx.body;
            if (body !== null && typeof body === "object" && (body as { revokeOtherSessions?: unknown }).revokeOtherSessions === true) {
              return recorder.recordUser(userId, "password-change");
            }
          }),
        },
      ],
    },
  } satisfies BetterAuthPlugin;
}
