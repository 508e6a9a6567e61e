package org.xenids.flow;

import java.util.Arrays;

/**
 * The table's flows and the structures that hold them: a pool of reused {@link Flow} objects by
 * index with a stack of free places, the hash chains that find a flow by its tuple from either
 * side, and the three queues (new / established / closed) it keeps them on. The links are ints
 * inside the flows themselves, so finding, queuing and freeing allocate nothing. What happens to
 * a flow — when it is queued where, timed out or evicted — is {@link FlowTable}'s to decide.
 */
final class FlowPool {
    /** Flows held before the pool and the hash table first grow. */
    static final int INITIAL_FLOWS = 1024;
    /** The largest array the VM reliably allocates. */
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;
    /** Hash buckets stop doubling here (2^30 ints, 4 GiB): past it, chains grow instead. */
    private static final int MAX_BUCKETS = 1 << 30;

    private final FlowTable table;
    /**
     * The pool, grown by doubling as flows are seen up to {@link FlowConfig#maxFlows()}, so memory
     * follows the flows actually held, not the bound: a bound of two billion costs nothing until
     * that many flows arrive.
     */
    private Flow[] flows;
    private int allocated;
    private final int limit;
    private int[] free;
    private int freeTop;
    /** At least as many buckets as the pool has places (to {@link #MAX_BUCKETS}): chains stay short. */
    private int[] buckets;
    private int mask;
    private final int[] head = {-1, -1, -1}, tail = {-1, -1, -1};
    /** Whether the tuple last given to {@link #find} was in the found flow's client-to-server order. */
    boolean foundToServer;

    FlowPool(FlowTable table, int maxFlows) {
        this.table = table;
        limit = Math.min(maxFlows, MAX_ARRAY);
        int cap = Math.min(limit, INITIAL_FLOWS);
        flows = new Flow[cap];
        free = new int[cap];
        buckets = new int[bucketsFor(cap)];
        Arrays.fill(buckets, -1);
        mask = buckets.length - 1;
    }

    /**
     * The flow of a tuple in either direction (sets {@link #foundToServer}), or null. {@code hash}
     * is {@link #hash}'s, taken to an int: masked here, as the buckets may have grown since.
     */
    Flow find(int hash, int proto, long sHi, long sLo, int sp, long dHi, long dLo, int dp, int vo, int vi) {
        for (int i = buckets[hash & mask]; i >= 0; i = flows[i].next) {
            Flow c = flows[i];
            if (c.proto != proto || c.vlanOuter != vo || c.vlanInner != vi) continue;
            if (c.clientLo == sLo && c.serverLo == dLo && c.clientPort == sp && c.serverPort == dp
                    && c.clientHi == sHi && c.serverHi == dHi) {
                foundToServer = true;
                return c;
            }
            if (c.clientLo == dLo && c.serverLo == sLo && c.clientPort == dp && c.serverPort == sp
                    && c.clientHi == dHi && c.serverHi == sHi) {
                foundToServer = false;
                return c;
            }
        }
        foundToServer = true;
        return null;
    }

    /**
     * A free flow, made when the pool may still grow, or null when the pool is full (the table
     * then evicts one). It is in no chain and no queue until {@link #insert}.
     */
    Flow take() {
        if (freeTop > 0) {
            return flows[free[--freeTop]];
        }
        if (allocated == limit) {
            return null;
        }
        if (allocated == flows.length) {
            grow();
        }
        Flow f = new Flow(table, allocated);
        flows[allocated++] = f;
        return f;
    }

    /** Chains a flow from {@link #take}, its tuple set, under {@code hash} (as for {@link #find}). */
    void insert(Flow f, int hash) {
        int h = hash & mask;
        f.live = true;
        f.next = buckets[h];
        buckets[h] = f.index;
    }

    /** Takes a flow out of its chain and queue and gives its place back. */
    void remove(Flow f) {
        unchain(f);
        unqueue(f);
        f.live = false;
        free[freeTop++] = f.index;
    }

    /**
     * Doubles the pool (to {@link #limit}) and, when that calls for more buckets, rebuilds the
     * hash table. Amortized over the flows that filled the pool: O(1) each.
     */
    private void grow() {
        int cap = (int) Math.min(limit, 2L * flows.length);
        flows = Arrays.copyOf(flows, cap);
        free = Arrays.copyOf(free, cap);
        int n = bucketsFor(cap);
        if (n == buckets.length) {
            return;
        }
        buckets = new int[n];
        Arrays.fill(buckets, -1);
        mask = n - 1;
        for (int i = 0; i < allocated; i++) {
            Flow f = flows[i];
            if (f.live) {
                int h = bucketOf(f);
                f.next = buckets[h];
                buckets[h] = i;
            }
        }
    }

    /** Buckets for a pool of {@code cap} flows: a power of two ≥ it (at least 16, at most {@link #MAX_BUCKETS}). */
    static int bucketsFor(int cap) {
        long n = Long.highestOneBit(Math.max(16, cap) - 1L) << 1;
        return (int) Math.min(n, MAX_BUCKETS);
    }

    /** Flows the pool has places for now (grows with the flows seen, up to the bound). */
    int capacity() { return flows.length; }

    private int bucketOf(Flow f) {
        return (int) hash(f.proto, f.clientHi, f.clientLo, f.clientPort, f.serverHi, f.serverLo, f.serverPort,
                f.vlanOuter, f.vlanInner) & mask;
    }

    private void unchain(Flow f) {
        int h = bucketOf(f);
        int prev = -1;
        for (int i = buckets[h]; i >= 0; prev = i, i = flows[i].next) {
            if (i == f.index) {
                if (prev < 0) buckets[h] = f.next; else flows[prev].next = f.next;
                f.next = -1;
                return;
            }
        }
        throw new IllegalStateException("flow " + f.id + " missing from its hash chain");
    }

    /** The longest-queued flow on queue {@code c}, or null when it is empty. */
    Flow oldest(int c) {
        int i = head[c];
        return i < 0 ? null : flows[i];
    }

    /** Queues the flow last on queue {@code c}, taking it off the one it was on. */
    void queue(Flow f, int c, long queuedNs) {
        unqueue(f);
        f.lruList = c;
        f.queuedNs = queuedNs;
        f.lruPrev = tail[c];
        f.lruNext = -1;
        if (tail[c] >= 0) flows[tail[c]].lruNext = f.index; else head[c] = f.index;
        tail[c] = f.index;
    }

    private void unqueue(Flow f) {
        int c = f.lruList;
        if (c < 0) return;
        if (f.lruPrev >= 0) flows[f.lruPrev].lruNext = f.lruNext; else head[c] = f.lruNext;
        if (f.lruNext >= 0) flows[f.lruNext].lruPrev = f.lruPrev; else tail[c] = f.lruPrev;
        f.lruPrev = f.lruNext = f.lruList = -1;
    }

    /** Same value for both directions of a flow. */
    static long hash(int proto, long aHi, long aLo, int aPort, long bHi, long bLo, int bPort, int vo, int vi) {
        long a = mix(aHi * 0x9E3779B97F4A7C15L ^ aLo ^ ((long) aPort << 40));
        long b = mix(bHi * 0x9E3779B97F4A7C15L ^ bLo ^ ((long) bPort << 40));
        return mix(a + b + proto * 0xC2B2AE3D27D4EB4FL + ((long) vo << 20 | vi));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }
}
