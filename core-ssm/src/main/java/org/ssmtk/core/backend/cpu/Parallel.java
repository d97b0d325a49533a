package org.ssmtk.core.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * A fixed pool of worker threads running numbered tasks. Every task writes its own part of the
 * output and sums in a fixed order, so results do not depend on which thread ran which task: runs
 * are reproducible bit for bit for a given thread count.
 */
public final class Parallel implements AutoCloseable {
    private final int threads;
    private final ExecutorService pool;

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        this.threads = threads;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "ssmtk-cpu-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, factory);
    }

    public int threads() {
        return threads;
    }

    /** Runs body(0) .. body(tasks - 1), in parallel, and returns when all are done. */
    public void forEach(int tasks, IntConsumer body) {
        if (tasks <= 0) return;
        if (pool == null || tasks == 1) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Callable<Void> worker = () -> {
            for (int i; (i = next.getAndIncrement()) < tasks; ) body.accept(i);
            return null;
        };
        int helpers = Math.min(threads - 1, tasks - 1);
        List<Future<Void>> futures = new ArrayList<>(helpers);
        for (int i = 0; i < helpers; i++) futures.add(pool.submit(worker));
        RuntimeException failure = null;
        try {
            worker.call();
        } catch (RuntimeException e) {
            failure = e;
        } catch (Exception e) {
            failure = new RuntimeException(e);
        }
        for (Future<Void> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) failure = e.getCause() instanceof RuntimeException re ? re : new RuntimeException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = new IllegalStateException("interrupted", e);
            }
        }
        if (failure != null) throw failure;
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
