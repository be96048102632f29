import type { z } from 'zod';
import type { StoredData, StoredUser } from '../session/sessionRecord.js';
import type { createBuilders } from '../trpc/builders.js';
import type { GatehouseBaseContext } from '../trpc/context.js';

/** The context the built-in routes are written against: any team's, seen through what Gatehouse guarantees. */
export type RouteContext = GatehouseBaseContext<StoredUser, StoredData, unknown>;

/**
 * The procedure builders the built-in routes are made with: the team's
 * own (so the routes nest in its router), seen at the built-in routes'
 * context type. `initGatehouse` gives the routes their precise types.
 */
export type RouteBuilders = ReturnType<typeof createBuilders<RouteContext>>;

/** The schemas the built-in routes validate with: the team's user (outputs) and credentials (inputs). */
export interface RouteSchemas {
  readonly user: z.ZodType<StoredUser, unknown>;
  readonly credentials: z.ZodType<{ username: string; password: string }, unknown>;
}
