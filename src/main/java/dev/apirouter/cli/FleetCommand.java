package dev.apirouter.cli;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.etcd.EtcdKeyValues;
import dev.apirouter.config.Config;
import dev.apirouter.config.Settings;
import dev.apirouter.policy.PolicyDocuments;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fleet}: the replica registry ({@code <prefix>replicas/}) as a table or JSON. */
@Command(name = "fleet", description = {
        "The gateway replicas registered in etcd: id, state, applied revision, lag behind the",
        "newest policy change, version, age, management address. --json: the same as JSON."})
final class FleetCommand implements Callable<Integer> {
    private final Config config;
    private final PrintStream out;
    private final PrintStream err;

    @Option(names = "--json", description = "Print JSON instead of the table.")
    boolean json;

    FleetCommand(Config config, PrintStream out, PrintStream err) {
        this.config = config;
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws CliException {
        Optional<AdminRemote> remote = AdminRemote.of(config);
        if (remote.isPresent()) {
            JsonNode fleet = remote.get().get("/v1/admin/fleet");
            List<ReplicaRecord> replicas = new ArrayList<>();
            fleet.path("replicas").forEach(r -> replicas.add(ReplicaRecord.of("?", r)));
            print(replicas, fleet.path("storeRevision").asLong(), fleet.path("policyRevision").asLong(),
                    "the registry of the " + remote.get().where());
            return Cli.EXIT_OK;
        }
        Settings.Store store = Cli.store(config);
        if (!store.usesEtcd()) {
            throw CliException.usage("the replica registry is in etcd: set ETCD_ENDPOINTS (with the policy file"
                    + " there is no registry), or ROUTER_ADMIN_URL to ask a gateway");
        }
        try (EtcdAdmin etcd = new EtcdAdmin(store)) {
            EtcdKeyValues.Snapshot snapshot = etcd.snapshot(ReplicaRecord.PREFIX);
            List<ReplicaRecord> replicas = new ArrayList<>();
            for (EtcdKeyValues.Entry e : snapshot.entries()) {
                replicas.add(ReplicaRecord.parse(e.key(), e.value()));
            }
            print(replicas, snapshot.revision(), etcd.newestPolicyRevision(), etcd.prefix() + ReplicaRecord.PREFIX);
        }
        return Cli.EXIT_OK;
    }

    private void print(List<ReplicaRecord> replicas, long revision, long policyRevision, String where) {
        Instant now = Instant.now();
        if (json) {
            ObjectNode root = PolicyDocuments.JSON.createObjectNode();
            root.put("revision", revision);
            root.put("policyRevision", policyRevision);
            ArrayNode array = root.putArray("replicas");
            for (ReplicaRecord r : replicas) {
                ObjectNode o = array.addObject();
                o.put("id", r.id());
                o.put("state", r.state());
                if (r.problem() == null) {
                    o.put("appliedRevision", r.appliedRevision());
                    o.put("lag", Math.max(0, policyRevision - r.appliedRevision()));
                } else {
                    o.putNull("appliedRevision");
                    o.putNull("lag");
                }
                o.put("version", r.version());
                o.put("startedAt", r.startedAt() == null ? null : r.startedAt().toString());
                if (r.startedAt() == null) {
                    o.putNull("ageSeconds");
                } else {
                    o.put("ageSeconds", Math.max(0, now.getEpochSecond() - r.startedAt().getEpochSecond()));
                }
                o.put("managementAddress", r.managementAddress());
                o.put("routesGeneration", r.routesGeneration());
                o.put("invalid", r.problem());
            }
            out.println(PolicyFiles.pretty(root));
        } else {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"ID", "STATE", "APPLIED", "LAG", "VERSION", "AGE", "MANAGEMENT"});
            for (ReplicaRecord r : replicas) {
                rows.add(new String[] {r.id(), or(r.state()), r.appliedText(),
                        r.problem() == null ? Long.toString(Math.max(0, policyRevision - r.appliedRevision()))
                                : "(invalid record: " + r.problem() + ")",
                        or(r.version()), ReplicaRecord.age(r.startedAt(), now), or(r.managementAddress())});
            }
            Tables.print(out, rows);
        }
        err.println(replicas.isEmpty()
                ? "no replica is registered in " + where + " (store revision " + revision + ")"
                : replicas.size() + " replica(s); store revision " + revision + ", newest policy change "
                + policyRevision + " (LAG: policy changes not applied yet, as /v1/status/fleet counts them)");
    }

    private static String or(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }
}
