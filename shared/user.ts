import { z } from 'zod';

export const roleSchema = z.enum(['user', 'admin']);
export type Role = z.infer<typeof roleSchema>;

/** A user as the API shows it (never the password hash). */
export const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: roleSchema,
});
export type User = z.infer<typeof userSchema>;
