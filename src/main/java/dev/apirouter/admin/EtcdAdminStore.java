package dev.apirouter.admin;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.config.Settings;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.etcd.EtcdClients;
import dev.apirouter.etcd.EtcdKeyValues;
import dev.apirouter.policy.InvalidDocumentException;
import dev.apirouter.policy.PolicyDocuments;
import io.etcd.jetcd.Client;

/**
 * The admin API's documents in etcd, read there (not from the policy this replica has applied, so that a change is
 * seen by the next call) and changed there. Its own client, made at the first call: a gateway nobody administers
 * opens no extra connection. Every call is bounded by the store's connect timeout and call deadline.
 */
final class EtcdAdminStore implements AdminStore, AutoCloseable {
    private final Settings.Store settings;
    private EtcdClients clients;
    private Client client;
    private EtcdKeyValues kv;

    EtcdAdminStore(Settings.Store settings) {
        this.settings = settings;
    }

    private synchronized EtcdKeyValues kv() {
        if (kv == null) {
            clients = EtcdClients.of(settings);
            client = clients.newClient();
            kv = new EtcdKeyValues(clients, client, settings.etcdPrefix());
        }
        return kv;
    }

    @Override
    public List<Doc> list(String folder) {
        return call(() -> kv().snapshot(folder).entries().stream().map(EtcdAdminStore::doc).toList());
    }

    @Override
    public Optional<Doc> get(String key) {
        return call(() -> kv().get(key).map(EtcdAdminStore::doc));
    }

    @Override
    public long commit(List<EtcdKeyValues.Change> changes) {
        return call(() -> kv().commit(changes));
    }

    @Override
    public boolean confirmsChanges() {
        return true;
    }

    private static Doc doc(EtcdKeyValues.Entry e) {
        JsonNode json;
        try {
            json = PolicyDocuments.readJson(e.value());
        } catch (InvalidDocumentException notJson) {
            json = null;
        }
        return new Doc(e.key(), json, e.modRevision());
    }

    private <T> T call(EtcdKeyValues.Call<T> etcdCall) {
        try {
            return etcdCall.run();
        } catch (ExecutionException | TimeoutException e) {
            throw new GatewayException(ErrorCode.ETCD_UNAVAILABLE, "etcd did not answer: " + clients.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GatewayException(ErrorCode.ETCD_UNAVAILABLE, "interrupted while waiting for etcd");
        }
    }

    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
        }
    }
}
