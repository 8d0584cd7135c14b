package dev.apirouter.policy;

/** A policy or key document that does not parse or validate; the message never contains key material. */
public final class InvalidDocumentException extends Exception {
    public InvalidDocumentException(String message) {
        super(message, null, false, false);
    }
}
