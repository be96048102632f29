import { z } from 'zod';
import { roleSchema } from '../../shared/user.js';

const userRecordSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: roleSchema,
  passwordHash: z.string(),
  createdAt: z.number(),
  /** Bumped by every change: a write names the version it read, and loses if another change came first. */
  version: z.number().int().nonnegative().default(0),
  disabled: z.boolean().default(false),
});

/** One account of the built-in directory, as it is stored (sealed) under its id. */
export type UserRecord = Readonly<z.infer<typeof userRecordSchema>>;

/** What an account change may set; everything else is kept as it is in the store. */
export type AccountChange = Partial<Pick<UserRecord, 'passwordHash' | 'role' | 'disabled'>>;

/** The record that `text` (JSON) holds, frozen; `undefined` for anything that is not one. */
export function parseUserRecord(text: string): UserRecord | undefined {
  try {
    const parsed = userRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? Object.freeze(parsed.data) : undefined;
  } catch {
    return undefined;
  }
}
