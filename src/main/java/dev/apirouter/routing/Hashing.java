package dev.apirouter.routing;

import java.nio.charset.StandardCharsets;

/**
 * A 64-bit hash that is the same in every gateway process, version and JVM (FNV-1a, then MurmurHash3's final mix to
 * spread its bits): what makes replicas choose the same backend for the same key without talking to each other.
 */
final class Hashing {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private Hashing() {
    }

    static long hash(byte[] bytes, int from, int to) {
        long h = FNV_OFFSET;
        for (int i = from; i < to; i++) {
            h ^= bytes[i] & 0xff;
            h *= FNV_PRIME;
        }
        return mix(h);
    }

    static long hash(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        return hash(bytes, 0, bytes.length);
    }

    static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
