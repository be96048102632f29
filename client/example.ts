/**
 * `npm run example`: register (or log in), call `data`, log out, and show
 * that `data` then fails. Against GATEHOUSE_URL (default http://127.0.0.1:3000).
 */
import type { AppRouter } from '../server/reference/router.js';
import { TRPCClientError, createNodeClient } from './node.js';

const url = process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:3000';
const credentials = { username: process.env.EXAMPLE_USER ?? 'example-user', password: 'example password 123' };
const { api } = createNodeClient<AppRouter>({ url });

try {
  try {
    await api.auth.register.mutate(credentials);
    console.log(`registered ${credentials.username}`);
  } catch (error) {
    if (!(error instanceof TRPCClientError) || error.data?.code !== 'CONFLICT') throw error;
    await api.auth.login.mutate(credentials);
    console.log(`logged in as ${credentials.username}`);
  }
  console.log('data:', (await api.data.query()).message);
  await api.auth.logout.mutate();
  console.log('logged out');
  try {
    await api.data.query();
    console.error('data still answered after logout: that is a bug');
    process.exit(1);
  } catch (error) {
    if (error instanceof TRPCClientError && error.data?.httpStatus === 401) {
      console.log('data after logout: 401 UNAUTHORIZED, as it should be');
    } else {
      throw error;
    }
  }
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  console.error(`example failed against ${url}: ${reason}\nIs the server running? Start it with: npm start`);
  process.exit(1);
}
