import { z } from 'zod';
import { roleSchema } from '../../shared/user.js';

/** What the store holds for a session (encrypted). Validated on every read. */
export const sessionRecordSchema = z.object({
  v: z.literal(1),
  uid: z.string().min(1),
  username: z.string().min(1),
  role: roleSchema,
  createdAt: z.number().int().nonnegative(),
  lastSeen: z.number().int().nonnegative(),
  ua: z.string().max(512).nullable(),
});
export type SessionRecord = z.infer<typeof sessionRecordSchema>;
