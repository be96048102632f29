/**
 * The demo page: register, sign in (optionally staying signed in on this
 * device), call the protected `data` query, list and revoke sessions, forget
 * remembered devices, change the password, sign out — all through the typed
 * client, with the browser keeping the HttpOnly session cookie.
 */
import type { AppRouter } from '../server/reference/router.js';
import { createGatehouseClient, TRPCClientError, type Me, type SessionView } from '../client/index.js';
import { busy, h } from './dom.js';
import { describeError } from './errorMessage.js';
import { withFreshLogin } from './freshLogin.js';

const api = createGatehouseClient<AppRouter>();
const root = document.getElementById('app')!;
/** The server offers "stay signed in on this device" (it says so in an attribute of `<main>`). */
const offersStaySignedIn = root.dataset.staySignedIn === 'on';
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

/** "Stay signed in on this device": shown only when the server offers it. */
function staySignedInBox(): { view: HTMLElement | null; ticked: () => boolean } {
  if (!offersStaySignedIn) return { view: null, ticked: () => false };
  const box = h('input', { id: 'stay-signed-in', name: 'staySignedIn', type: 'checkbox' });
  return {
    view: h('div', { class: 'checkbox' }, box, h('label', { for: 'stay-signed-in' }, 'Stay signed in on this device')),
    ticked: () => box.checked,
  };
}

const signedInMessage = (username: string, remembered: boolean) =>
  `Signed in as ${username}.${remembered ? ' This device stays signed in until you sign out or forget it.' : ''}`;

function signedOutView(): HTMLElement {
  const signIn = h('button', { id: 'login', type: 'submit' }, 'Sign in');
  const register = h('button', { id: 'register', type: 'button', class: 'secondary' }, 'Create account');
  const stay = staySignedInBox();
  const form = h(
    'form',
    { id: 'auth-form', class: 'card', novalidate: true },
    h('h2', {}, 'Sign in or create an account'),
    field('username', 'Username', 'text', 'username'),
    field('password', 'Password', 'password', 'current-password'),
    stay.view,
    h('div', { class: 'actions' }, signIn, register),
  );
  // staySignedIn only when ticked: a server that does not offer it refuses the field.
  const credentials = () => ({ username: valueOf(form, 'username'), password: valueOf(form, 'password'), ...(stay.ticked() ? { staySignedIn: true } : {}) });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(signIn, async () => {
      try {
        const { user } = await api.auth.login.mutate(credentials());
        say('ok', signedInMessage(user.username, stay.ticked()));
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
        say('ok', `Account created. ${signedInMessage(user.username, stay.ticked())}`);
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

const when = (iso: string) => new Date(iso).toLocaleString();

/**
 * The short device label ("Chrome on Linux"), with the raw user agent in its
 * title and in a details line. Both are the client's to write: textContent
 * only, never HTML.
 */
function deviceOf(view: SessionView, meta: string): HTMLElement {
  const name = h('div', { class: 'device' });
  name.textContent = view.device ?? 'Unknown device';
  let raw: HTMLElement | null = null;
  if (view.userAgent !== null) {
    name.title = view.userAgent;
    const text = h('code', { class: 'user-agent' });
    text.textContent = view.userAgent;
    raw = h('details', { class: 'meta' }, h('summary', {}, 'User agent'), text);
  }
  return h('div', {}, name, h('div', { class: 'meta' }, meta), raw);
}

/** A button that runs a sensitive action (asking for the password when the sign-in is not recent), says `done`, and reloads. */
function sensitiveButton(text: string, attributes: Record<string, string>, action: () => Promise<unknown>, done: string, reload: () => Promise<void>): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'secondary', ...attributes }, text);
  button.addEventListener('click', () => {
    void busy(button, async () => {
      try {
        if (!(await sensitive(action))) return say('error', 'Nothing was changed.');
        say('ok', done);
        await reload();
      } catch (error) {
        showError(error);
      }
    });
  });
  return button;
}

function sessionRow(session: SessionView, reload: () => Promise<void>): HTMLElement {
  const carried = session.carrier === 'bearer' ? ' · app or CLI (bearer token)' : '';
  const label = deviceOf(session, `Signed in ${when(session.createdAt)} · last seen ${when(session.lastSeenAt)}${carried}`);
  if (session.current) return h('li', { 'data-session-id': session.id }, label, h('span', { class: 'badge' }, 'This browser'));
  const revoke = sensitiveButton('Revoke', { 'data-revoke': session.id }, () => api.sessions.revoke.mutate({ id: session.id }), 'That session was ended.', reload);
  return h('li', { 'data-session-id': session.id }, label, revoke);
}

/** A device that stays signed in; forgetting it ends its credential (its session, if any, runs out on its own). */
function deviceRow(device: SessionView, reload: () => Promise<void>): HTMLElement {
  const label = deviceOf(device, `Remembered since ${when(device.createdAt)} · last used ${when(device.lastSeenAt)} · until ${when(device.expiresAt)}`);
  const forget = sensitiveButton(
    'Forget',
    { 'data-forget': device.id },
    () => api.sessions.revoke.mutate({ id: device.id }),
    'That device was forgotten: once its session ends, it asks for the password.',
    reload,
  );
  const side = h('div', { class: 'row-actions' }, device.current ? h('span', { class: 'badge' }, 'This device') : null, forget);
  return h('li', { 'data-device-id': device.id }, label, side);
}

function sessionsView(): HTMLElement {
  const list = h('ul', { id: 'sessions', class: 'sessions' });
  const devices = h('ul', { id: 'devices', class: 'sessions' });
  const noDevices = h('p', { id: 'no-devices', class: 'meta hidden' }, 'No device stays signed in.');
  const others = h('button', { id: 'revoke-others', type: 'button', class: 'secondary' }, 'Sign out all other sessions');
  const reload = async () => {
    try {
      const listed = await api.sessions.list.query();
      const remembered = listed.filter((view) => view.kind === 'remembered');
      list.replaceChildren(...listed.filter((view) => view.kind === 'session').map((s) => sessionRow(s, reload)));
      devices.replaceChildren(...remembered.map((device) => deviceRow(device, reload)));
      noDevices.classList.toggle('hidden', remembered.length > 0);
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
  const remembered = offersStaySignedIn
    ? [
        h('h3', {}, 'Devices that stay signed in'),
        h('p', { class: 'meta' }, 'Each starts a new session without the password when its session has ended. Forget one to make it ask again.'),
        devices,
        noDevices,
      ]
    : [];
  return h('section', { class: 'card' }, h('h2', {}, 'Your sessions'), list, h('div', { class: 'actions' }, others), ...remembered);
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
