export * from './credentials.js';
export * from './user.js';
export * from './session.js';
export * from './errors.js';
