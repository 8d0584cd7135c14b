package dev.apirouter.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What a change did, for its answer and its audit line: the HTTP status and body, the etcd revision of the change,
 * the action ({@code key.create}), its target (a key or model name, never key material) and how many records it
 * changed.
 */
record Outcome(int status, ObjectNode body, long revision, String action, String target, int records) {
}
