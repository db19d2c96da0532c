import { useActivity } from './useActivity';
import { useAuth } from './useAuth';
import { useNotes } from './useNotes';
import { useWebSocket } from './useWebSocket';

/**
 * Subscribes the calling component to the shared socket for its lifetime and
 * feeds every message into the notes cache and the activity feed. A session
 * that the server ends sends the page back to the sign-in form.
 */
export function useLiveNotes() {
  const notes = useNotes();
  const activity = useActivity();
  const auth = useAuth();

  return useWebSocket({
    onMessage(message) {
      const effect = notes.applyMessage(message);
      if (effect) activity.record(effect);
    },
    onSessionEnded(reason) {
      auth.endSession(reason);
    },
  });
}
