package dev.apirouter.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * Loopback listeners that misbehave, for start-up and shutdown tests. Loopback only: never any other address.
 */
public final class FaultyServers {
    private FaultyServers() {
    }

    /** A port on 127.0.0.1 where nothing listens (connections are refused). */
    public static int closedPort() throws IOException {
        return GatewayProcess.freePort();
    }

    /**
     * Accepts every connection and never answers: reads and discards what it is sent (so writes do not block), never
     * writes a byte, closes nothing until {@link #close()}.
     */
    public static final class Silent implements AutoCloseable {
        private final ServerSocket server;
        private final List<Socket> accepted = new ArrayList<>();
        private final Thread acceptor;
        private volatile boolean closed;

        public Silent() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(this::acceptLoop, "silent-listener-" + server.getLocalPort());
            acceptor.setDaemon(true);
            acceptor.start();
        }

        private void acceptLoop() {
            while (!closed) {
                try {
                    Socket s = server.accept();
                    synchronized (accepted) {
                        accepted.add(s);
                    }
                    Thread drain = new Thread(() -> {
                        byte[] buffer = new byte[8192];
                        try {
                            while (s.getInputStream().read(buffer) >= 0) {
                                // discard
                            }
                        } catch (IOException e) {
                            // closed
                        }
                    }, "silent-drain");
                    drain.setDaemon(true);
                    drain.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        public int port() {
            return server.getLocalPort();
        }

        public int accepted() {
            synchronized (accepted) {
                return accepted.size();
            }
        }

        @Override
        public void close() throws IOException {
            closed = true;
            server.close();
            synchronized (accepted) {
                for (Socket s : accepted) {
                    s.close();
                }
            }
        }
    }

    /**
     * A listener whose accept queue is full: backlog 1, never accepts, pre-filled with connections until a new one
     * can no longer complete its handshake. A further connect then hangs until its own timeout (the kernel drops the
     * SYN), like a collector or etcd that is overwhelmed.
     */
    public static final class FullBacklog implements AutoCloseable {
        private final ServerSocket server;
        private final List<Socket> fillers = new ArrayList<>();

        public FullBacklog() throws IOException {
            server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
            for (int i = 0; i < 16; i++) {
                Socket s = new Socket();
                try {
                    s.connect(server.getLocalSocketAddress(), 200);
                    fillers.add(s);
                } catch (SocketTimeoutException e) {
                    s.close();
                    return; // full: a connect no longer completes
                }
            }
            throw new IOException("the accept queue of port " + port() + " never filled up");
        }

        public int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            for (Socket s : fillers) {
                s.close();
            }
            server.close();
        }
    }
}
