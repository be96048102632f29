import { isTRPCClientError } from '../client/index.js';
import type { AppRouter } from '../server/reference/router.js';
import { h } from './dom.js';

/** The server refused a sensitive action because the sign-in is not recent enough (412, reason FRESH_LOGIN_REQUIRED). */
export const needsFreshLogin = (error: unknown): boolean =>
  isTRPCClientError<AppRouter>(error) && error.data?.reason === 'FRESH_LOGIN_REQUIRED';

/**
 * Asks for the password in a modal dialog and checks it with `reauthenticate`.
 * Resolves true once the password was confirmed, false if the user cancelled.
 * A wrong password is said in the dialog, which stays open.
 */
export function confirmPassword(reauthenticate: (password: string) => Promise<unknown>, describe: (error: unknown) => string): Promise<boolean> {
  const input = h('input', { id: 'confirm-password-input', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const problem = h('p', { id: 'confirm-password-error', class: 'field-error', role: 'alert' });
  const confirm = h('button', { id: 'confirm-password-submit', type: 'submit' }, 'Confirm');
  const cancel = h('button', { id: 'confirm-password-cancel', type: 'button', class: 'secondary' }, 'Cancel');
  const form = h(
    'form',
    { method: 'dialog', novalidate: true },
    h('h2', {}, 'Confirm your password'),
    h('p', { class: 'meta' }, 'This action needs a recent sign-in. Enter your password to continue.'),
    h('label', { for: 'confirm-password-input' }, 'Password'),
    input,
    problem,
    h('div', { class: 'actions' }, confirm, cancel),
  );
  const dialog = h('dialog', { id: 'confirm-password', class: 'card' }, form);
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    const finish = (confirmed: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(confirmed);
    };
    cancel.addEventListener('click', () => finish(false));
    dialog.addEventListener('cancel', () => finish(false));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      confirm.disabled = true;
      reauthenticate(input.value).then(
        () => finish(true),
        (error: unknown) => {
          confirm.disabled = false;
          problem.textContent = describe(error);
          input.select();
        },
      );
    });
  });
}

/** Runs a sensitive action; when the server asks for a fresh sign-in, asks for the password and runs it once more. */
export async function withFreshLogin<T>(
  action: () => Promise<T>,
  reauthenticate: (password: string) => Promise<unknown>,
  describe: (error: unknown) => string,
): Promise<T | undefined> {
  try {
    return await action();
  } catch (error) {
    if (!needsFreshLogin(error)) throw error;
    if (!(await confirmPassword(reauthenticate, describe))) return undefined;
    return action();
  }
}
