package dev.apirouter.routing;

import java.util.List;

import dev.apirouter.policy.Backend;

/** Where a request goes: the backends to try, in order (empty: none is available), and why the first one. */
public record Decision(List<Backend> candidates, Reason reason) {
}
