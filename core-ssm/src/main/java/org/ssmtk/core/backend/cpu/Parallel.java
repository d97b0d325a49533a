package org.ssmtk.core.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed team of worker threads running numbered tasks. Every task writes its own part of the
 * output and sums in a fixed order, so results do not depend on which thread ran which task: runs
 * are reproducible bit for bit for a given thread count.
 *
 * <p>A decoding step is a few dozen small operations, each one {@link #forEach}; waking parked
 * threads through an executor for each cost more than the work at DNA sizes. So the workers spin
 * on a generation counter for a while after each job (llama.cpp's thread pool does the same) and
 * park only when no job has come for {@link #SPIN_NANOS}; the caller runs tasks too and spins until
 * the team is done.
 */
public final class Parallel implements AutoCloseable {
    /** How long an idle worker spins before parking: longer than the gap between a step's operations. */
    private static final long SPIN_NANOS = 200_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger busy = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile int generation;
    private volatile IntConsumer body;
    private volatile int tasks;
    private volatile boolean closed;
    private volatile RuntimeException failure;

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        this.threads = threads;
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Thread(this::work, "ssmtk-cpu-" + (i + 1));
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs body(0) .. body(tasks - 1), in parallel, and returns when all are done. A call made while
     * the team is busy (from inside a task, or from a second thread) runs its tasks on the calling
     * thread, in order: the same results, without the team.
     */
    public void forEach(int tasks, IntConsumer body) {
        if (tasks <= 0) return;
        if (workers.length == 0 || tasks == 1 || !running.compareAndSet(false, true)) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        try {
            runOnTeam(tasks, body);
        } finally {
            running.set(false);
        }
    }

    private void runOnTeam(int tasks, IntConsumer body) {
        this.body = body;
        this.tasks = tasks;
        failure = null;
        next.set(0);
        busy.set(workers.length);
        generation++; // publishes body, tasks and next to the workers
        for (Thread w : workers) LockSupport.unpark(w);
        runTasks(body, tasks);
        while (busy.get() > 0) Thread.onSpinWait();
        this.body = null;
        RuntimeException f = failure;
        if (f != null) throw f;
    }

    private void runTasks(IntConsumer b, int n) {
        try {
            for (int i; (i = next.getAndIncrement()) < n; ) b.accept(i);
        } catch (RuntimeException | Error e) {
            next.set(n); // the others stop taking tasks
            if (failure == null) failure = e instanceof RuntimeException re ? re : new RuntimeException(e);
        }
    }

    private void work() {
        int seen = 0;
        while (true) {
            long idleSince = System.nanoTime();
            while (generation == seen && !closed) {
                if (System.nanoTime() - idleSince < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.park(this);
            }
            if (closed) return;
            seen = generation;
            runTasks(body, tasks);
            busy.decrementAndGet();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
