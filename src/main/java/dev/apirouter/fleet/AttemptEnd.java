package dev.apirouter.fleet;

/** How one attempt of a request on one backend ended, as far as that backend's record is concerned. */
public enum AttemptEnd {
    /** The backend answered with a status (whatever it was) and the answer reached its end, or was retried. */
    ANSWERED,
    /** The backend failed the request: no connection, a reset or no head in time, a break or silence mid-answer. */
    FAILED,
    /** The attempt ended for a reason that says nothing about the backend (the client left, a stale connection). */
    ABANDONED
}
