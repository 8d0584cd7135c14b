package dev.apirouter.reload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the routes directory: every visible {@code *.yaml} entry, symbolic links followed (a Kubernetes ConfigMap
 * volume holds {@code name.yaml -> ..data/name.yaml} and swaps the hidden {@code ..data} link atomically), hidden
 * entries ({@code ..data}, {@code ..2026_01_01_...}, editors' {@code .name.yaml.swp}) ignored.
 */
final class RouteDirectory {
    static final String EXTENSION = ".yaml";
    /** Route files are small; anything larger is refused rather than read into memory on every poll. */
    static final int MAX_FILE_BYTES = 1 << 20;

    private RouteDirectory() {
    }

    /** What a directory entry held when it was read. */
    sealed interface Observation permits Content, Unreadable {
    }

    /** The entry's bytes (at most {@link #MAX_FILE_BYTES} + 1, so that a larger file is recognised) and their digest. */
    record Content(byte[] bytes, String digest) implements Observation {
        static Content of(byte[] bytes) {
            return new Content(bytes, sha256(bytes));
        }

        boolean tooLarge() {
            return bytes.length > MAX_FILE_BYTES;
        }
    }

    /** The entry is listed but could not be read this time (e.g. replaced while reading): try again next time. */
    record Unreadable(String reason) implements Observation {
    }

    /**
     * The visible route files of {@code dir}, by file name. A listed entry whose link leads nowhere is left out (the
     * file is going away); one that fails to read is {@link Unreadable}.
     *
     * @throws IOException when the directory itself cannot be listed
     */
    static Map<String, Observation> scan(Path dir) throws IOException {
        Map<String, Observation> files = new TreeMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!isRouteFileName(name) || !Files.exists(entry) || Files.isDirectory(entry)) {
                    continue;
                }
                try (InputStream in = Files.newInputStream(entry)) {
                    files.put(name, Content.of(in.readNBytes(MAX_FILE_BYTES + 1)));
                } catch (IOException e) {
                    files.put(name, new Unreadable(e.toString()));
                }
            }
        }
        return files;
    }

    static boolean isRouteFileName(String name) {
        return !name.startsWith(".") && name.endsWith(EXTENSION) && name.length() > EXTENSION.length();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
