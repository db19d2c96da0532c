import { computed, ref, shallowRef } from 'vue';

import * as api from '../api/client';
import { ApiError, setUnauthorizedHandler } from '../api/http';
import type { LoginRequest, RegisterRequest, User } from '../api/types';
import { SESSION_EXPIRED_MESSAGE } from '../realtime/sharedSocket';
import { useActivity } from './useActivity';
import { useNotes } from './useNotes';
import { closeSharedSocket } from './useWebSocket';

// The session is app-wide (module level) because a tab has exactly one. The
// header, the forms and the socket all need the same user. A 401 from any
// request, or a 4001 close of the socket, must sign the whole page out.
// The token itself is never stored here, because the server keeps it in an
// httpOnly cookie that scripts cannot read.

/** `restoring` while the page checks with the server whether the cookie is still valid. */
type SessionPhase = 'restoring' | 'ready';

const user = shallowRef<User | null>(null);
const phase = ref<SessionPhase>('restoring');
/** Message shown above the sign-in form, for example that the session expired. */
const notice = ref<string | null>(null);
/** Error of the page-load session check, when the server could not be reached. */
const restoreError = ref<string | null>(null);
/** Error of the last sign-out attempt. */
const logoutError = ref<string | null>(null);
const busy = ref(false);

function clearUserData(): void {
  closeSharedSocket();
  useNotes().reset();
  useActivity().reset();
}

function signIn(signedIn: User): void {
  clearUserData();
  user.value = signedIn;
  notice.value = null;
  logoutError.value = null;
}

/** Signs the page out without asking the server, because the server already ended the session. */
function endSession(reason: string = SESSION_EXPIRED_MESSAGE): void {
  if (!user.value) return;
  clearUserData();
  user.value = null;
  notice.value = reason;
}

setUnauthorizedHandler(() => endSession(SESSION_EXPIRED_MESSAGE));

async function withBusy<T>(work: () => Promise<T>): Promise<T> {
  busy.value = true;
  try {
    return await work();
  } finally {
    busy.value = false;
  }
}

const auth = {
  user,
  phase,
  notice,
  restoreError,
  logoutError,
  busy,
  signedIn: computed(() => user.value !== null),

  /** Asks the server who is signed in, from the session cookie. Runs once on page load. */
  async restore(): Promise<void> {
    phase.value = 'restoring';
    restoreError.value = null;
    try {
      user.value = await api.fetchCurrentUser();
    } catch (error) {
      user.value = null;
      if (!(error instanceof ApiError && error.status === 401)) {
        restoreError.value =
          error instanceof Error ? error.message : 'Could not check the session. Reload the page to try again.';
      }
    } finally {
      phase.value = 'ready';
    }
  },

  /** Creates an account and signs in. Rejects with the server's `ApiError`, which may name a `field`. */
  register(input: RegisterRequest): Promise<User> {
    return withBusy(async () => {
      const response = await api.register(input);
      signIn(response.user);
      return response.user;
    });
  },

  /** Signs in. Rejects with the server's `ApiError`, which may name a `field`. */
  login(input: LoginRequest): Promise<User> {
    return withBusy(async () => {
      const response = await api.login(input);
      signIn(response.user);
      return response.user;
    });
  },

  /** Ends the session on the server, which clears the cookie, then signs the page out. */
  async logout(): Promise<void> {
    logoutError.value = null;
    await withBusy(async () => {
      try {
        await api.logout();
      } catch (error) {
        // Staying signed in is the honest state when the server kept the
        // cookie, because a reload would sign the user back in.
        if (!(error instanceof ApiError && error.status === 401)) {
          logoutError.value = `Signing out failed: ${error instanceof Error ? error.message : String(error)}`;
          return;
        }
      }
      clearUserData();
      user.value = null;
      notice.value = 'You have signed out.';
    });
  },

  endSession,

  /** Hides the notice above the sign-in form. */
  dismissNotice(): void {
    notice.value = null;
  },
};

/** Returns the app-wide session state and the actions that change it. */
export function useAuth() {
  return auth;
}
