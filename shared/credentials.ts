import { z } from 'zod';

/** Usernames: 3–32 of `[a-z0-9_.-]`, compared case-insensitively (stored lower-cased). */
export const usernameSchema = z
  .string({ error: 'username must be a string' })
  .trim()
  .min(3, { error: 'username must be at least 3 characters' })
  .max(32, { error: 'username must be at most 32 characters' })
  .regex(/^[A-Za-z0-9_.-]+$/, { error: 'username may only contain letters, digits, "_", "." and "-"' })
  .transform((name) => name.toLowerCase());

/** Passwords: 8–128 characters. Never trimmed: every character counts. */
export const passwordSchema = z
  .string({ error: 'password must be a string' })
  .min(8, { error: 'password must be at least 8 characters' })
  .max(128, { error: 'password must be at most 128 characters' });

export const credentialsSchema = z.object({
  username: usernameSchema,
  password: passwordSchema,
});
export type Credentials = z.input<typeof credentialsSchema>;

export const changePasswordSchema = z.object({
  currentPassword: z.string({ error: 'currentPassword must be a string' }).min(1).max(128),
  newPassword: passwordSchema,
});
export type ChangePasswordInput = z.input<typeof changePasswordSchema>;
