/**
 * The demo page: register, sign in, call the protected `data` query, list
 * and revoke sessions, change the password, sign out — all through the
 * typed client, with the browser keeping the HttpOnly session cookie.
 */
import type { AppRouter } from '../server/reference/router.js';
import { createGatehouseClient, TRPCClientError, type Me, type SessionView } from '../client/index.js';
import { busy, h } from './dom.js';
import { describeError } from './errorMessage.js';
import { withFreshLogin } from './freshLogin.js';

const api = createGatehouseClient<AppRouter>();
const root = document.getElementById('app')!;
const notice = h('p', { id: 'notice', class: 'notice', role: 'alert' });

function say(kind: 'ok' | 'error', message: string): void {
  notice.className = `notice ${kind}`;
  notice.textContent = message;
}

function showPageCookies(): void {
  const output = document.getElementById('page-cookies');
  if (output) output.textContent = document.cookie === '' ? '(empty)' : document.cookie;
}

/** Shows an error in the notice area and next to each named field it concerns. */
function showError(error: unknown, form?: HTMLElement): void {
  const shown = describeError(error);
  say('error', shown.message);
  if (!form) return;
  for (const input of form.querySelectorAll('input')) {
    const messages = shown.fieldErrors[input.name];
    const slot = form.querySelector<HTMLElement>(`[data-error-for="${input.name}"]`);
    input.setAttribute('aria-invalid', messages ? 'true' : 'false');
    if (slot) slot.textContent = messages ? messages.join(' ') : '';
  }
}

const isUnauthorized = (error: unknown) => error instanceof TRPCClientError && error.data?.code === 'UNAUTHORIZED';

/** A sensitive action (ending sessions, changing the password): asks for the password first when the sign-in is not recent. */
const sensitive = <T>(action: () => Promise<T>) =>
  withFreshLogin(action, (password) => api.auth.reauthenticate.mutate({ password }), (error) => describeError(error).message);

function field(name: string, label: string, type: string, autocomplete: string): HTMLElement {
  const id = name === 'currentPassword' ? 'current-password' : name === 'newPassword' ? 'new-password' : name;
  return h(
    'div',
    {},
    h('label', { for: id }, label),
    h('input', { id, name, type, autocomplete, required: true }),
    h('p', { class: 'field-error', 'data-error-for': name }),
  );
}

const valueOf = (form: HTMLElement, name: string) => form.querySelector<HTMLInputElement>(`input[name="${name}"]`)!.value;

function signedOutView(): HTMLElement {
  const signIn = h('button', { id: 'login', type: 'submit' }, 'Sign in');
  const register = h('button', { id: 'register', type: 'button', class: 'secondary' }, 'Create account');
  const form = h(
    'form',
    { id: 'auth-form', class: 'card', novalidate: true },
    h('h2', {}, 'Sign in or create an account'),
    field('username', 'Username', 'text', 'username'),
    field('password', 'Password', 'password', 'current-password'),
    h('div', { class: 'actions' }, signIn, register),
  );
  const credentials = () => ({ username: valueOf(form, 'username'), password: valueOf(form, 'password') });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(signIn, async () => {
      try {
        const { user } = await api.auth.login.mutate(credentials());
        say('ok', `Signed in as ${user.username}.`);
        await refresh();
      } catch (error) {
        showError(error, form);
      }
    });
  });
  register.addEventListener('click', () => {
    void busy(register, async () => {
      try {
        const { user } = await api.auth.register.mutate(credentials());
        say('ok', `Account created. Signed in as ${user.username}.`);
        await refresh();
      } catch (error) {
        showError(error, form);
      }
    });
  });
  return form;
}

function statusView(me: NonNullable<Me>): HTMLElement {
  const logout = h('button', { id: 'logout', type: 'button', class: 'danger' }, 'Sign out');
  logout.addEventListener('click', () => {
    void busy(logout, async () => {
      try {
        await api.auth.logout.mutate();
        say('ok', 'Signed out. The server ended the session and cleared the cookie.');
        await refresh();
      } catch (error) {
        showError(error);
      }
    });
  });
  return h(
    'section',
    { class: 'card status' },
    h('div', {}, 'Signed in as ', h('strong', { id: 'signed-in-as' }, me.user.username), me.user.role === 'admin' ? ' (admin)' : ''),
    logout,
  );
}

function dataView(): HTMLElement {
  const load = h('button', { id: 'load-data', type: 'button' }, 'Call data');
  const output = h('p', { id: 'data-output', class: 'data' });
  load.addEventListener('click', () => {
    void busy(load, async () => {
      output.textContent = '';
      try {
        const data = await api.data.query();
        output.textContent = data.message;
      } catch (error) {
        showError(error);
        if (isUnauthorized(error)) await refresh(false);
      }
    });
  });
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Protected data'),
    h('p', {}, 'The ', h('code', {}, 'data'), ' query answers only with a live session.'),
    load,
    output,
  );
}

function sessionRow(session: SessionView, reload: () => Promise<void>): HTMLElement {
  const when = (iso: string) => new Date(iso).toLocaleString();
  const label = h(
    'div',
    {},
    h('div', {}, session.userAgent ?? 'Unknown browser'),
    h('div', { class: 'meta' }, `Signed in ${when(session.createdAt)} · last seen ${when(session.lastSeenAt)}`),
  );
  if (session.current) return h('li', { 'data-session-id': session.id }, label, h('span', { class: 'badge' }, 'This browser'));
  const revoke = h('button', { type: 'button', class: 'secondary', 'data-revoke': session.id }, 'Revoke');
  revoke.addEventListener('click', () => {
    void busy(revoke, async () => {
      try {
        if (!(await sensitive(() => api.sessions.revoke.mutate({ id: session.id })))) return say('error', 'Nothing was changed.');
        say('ok', 'That session was ended.');
        await reload();
      } catch (error) {
        showError(error);
      }
    });
  });
  return h('li', { 'data-session-id': session.id }, label, revoke);
}

function sessionsView(): HTMLElement {
  const list = h('ul', { id: 'sessions', class: 'sessions' });
  const others = h('button', { id: 'revoke-others', type: 'button', class: 'secondary' }, 'Sign out all other sessions');
  const reload = async () => {
    try {
      const sessions = await api.sessions.list.query();
      list.replaceChildren(...sessions.map((s) => sessionRow(s, reload)));
    } catch (error) {
      showError(error);
      if (isUnauthorized(error)) await refresh(false);
    }
  };
  others.addEventListener('click', () => {
    void busy(others, async () => {
      try {
        const result = await sensitive(() => api.sessions.revokeOthers.mutate());
        if (!result) return say('error', 'Nothing was changed.');
        const { endedSessions } = result;
        say('ok', `${endedSessions} other session${endedSessions === 1 ? ' was' : 's were'} ended.`);
        await reload();
      } catch (error) {
        showError(error);
      }
    });
  });
  void reload();
  return h('section', { class: 'card' }, h('h2', {}, 'Your sessions'), list, h('div', { class: 'actions' }, others));
}

function passwordView(): HTMLElement {
  const change = h('button', { id: 'change-password', type: 'submit' }, 'Change password');
  const form = h(
    'form',
    { id: 'password-form', class: 'card', novalidate: true },
    h('h2', {}, 'Change password'),
    h('p', { class: 'meta' }, 'This browser keeps its session under a new id; every other session is ended.'),
    field('currentPassword', 'Current password', 'password', 'current-password'),
    field('newPassword', 'New password', 'password', 'new-password'),
    h('div', { class: 'actions' }, change),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(change, async () => {
      try {
        const result = await sensitive(() =>
          api.auth.changePassword.mutate({ currentPassword: valueOf(form, 'currentPassword'), newPassword: valueOf(form, 'newPassword') }),
        );
        if (!result) return say('error', 'Nothing was changed.');
        const { endedSessions } = result;
        say('ok', `Password changed. ${endedSessions} other session${endedSessions === 1 ? ' was' : 's were'} signed out.`);
        await refresh();
      } catch (error) {
        showError(error, form);
      }
    });
  });
  return form;
}

/** Asks the server who we are and draws the matching view. */
async function refresh(clearNotice = false): Promise<void> {
  if (clearNotice) notice.textContent = '';
  let me: Me = null;
  try {
    me = await api.auth.me.query();
  } catch (error) {
    showError(error);
  }
  const views = me ? [statusView(me), dataView(), sessionsView(), passwordView()] : [signedOutView()];
  root.replaceChildren(notice, ...views);
  root.dataset.state = me ? 'signed-in' : 'signed-out';
  showPageCookies();
}

void refresh(true);
