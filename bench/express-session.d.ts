// express-session ships no types and @types/express-session is not installed: the bench needs only this.
declare module 'express-session' {
  import type { RequestHandler } from 'express';
  interface Options {
    secret: string;
    resave: boolean;
    saveUninitialized: boolean;
    cookie?: { httpOnly?: boolean; sameSite?: 'lax' | 'strict'; secure?: boolean };
  }
  export default function session(options: Options): RequestHandler;
}
