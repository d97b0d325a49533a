// llama.cpp as ssmtk's CPU peer: loads a GGUF written by `ssmtk model export --gguf` into the
// llama.cpp libraries that npm's node-llama-cpp ships, and either writes the logits of a token
// sequence (for parity) or times prompt processing and decoding with the same threads, one
// context and its thread pool kept warm across every decode step (one process, no per-step
// start-up). Built and run by scripts/bench-cpu.sh.
//
//   llama_mamba logits MODEL.gguf TOKENS.i32 OUT.f32 THREADS
//   llama_mamba bench  MODEL.gguf THREADS PROMPT_LEN DECODE_TOKENS REPEATS
//
// bench prints one line per repeat: "pp <seconds> tg <seconds per token>".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "llama.h"
#include "ggml-backend.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "llama_mamba: %s\n", what);
    exit(1);
}

static struct llama_context *open_context(struct llama_model *model, int threads, int batch) {
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = batch + 8;
    cp.n_batch = batch;
    cp.n_ubatch = batch;
    cp.n_seq_max = 1;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) die("cannot create a context");
    return ctx;
}

// Decodes tokens[0..n) at positions pos.. in one batch; logits for every position when all != 0.
static void decode(struct llama_context *ctx, struct llama_batch *b, const int32_t *tokens, int n, int pos, int all) {
    b->n_tokens = n;
    for (int i = 0; i < n; i++) {
        b->token[i] = tokens[i];
        b->pos[i] = pos + i;
        b->n_seq_id[i] = 1;
        b->seq_id[i][0] = 0;
        b->logits[i] = all || i == n - 1;
    }
    if (llama_decode(ctx, *b) != 0) die("llama_decode failed");
}

int main(int argc, char **argv) {
    if (argc < 3) die("usage: llama_mamba logits|bench MODEL.gguf ...");
    const char *libdir = getenv("LLAMA_LIB_DIR");
    if (libdir) ggml_backend_load_all_from_path(libdir); else ggml_backend_load_all();
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(argv[2], mp);
    if (!model) die("cannot load the model");
    int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    if (strcmp(argv[1], "logits") == 0) {
        if (argc != 6) die("usage: llama_mamba logits MODEL.gguf TOKENS.i32 OUT.f32 THREADS");
        FILE *f = fopen(argv[3], "rb");
        if (!f) die("cannot read the tokens");
        fseek(f, 0, SEEK_END);
        int n = (int) (ftell(f) / 4);
        fseek(f, 0, SEEK_SET);
        int32_t *tokens = malloc(n * 4);
        if (fread(tokens, 4, n, f) != (size_t) n) die("short token file");
        fclose(f);
        struct llama_context *ctx = open_context(model, atoi(argv[5]), n);
        struct llama_batch b = llama_batch_init(n, 0, 1);
        decode(ctx, &b, tokens, n, 0, 1);
        FILE *out = fopen(argv[4], "wb");
        if (!out) die("cannot write the logits");
        for (int i = 0; i < n; i++) fwrite(llama_get_logits_ith(ctx, i), 4, vocab, out);
        fclose(out);
        llama_batch_free(b);
        llama_free(ctx);
    } else if (strcmp(argv[1], "bench") == 0) {
        if (argc != 7) die("usage: llama_mamba bench MODEL.gguf THREADS PROMPT_LEN DECODE_TOKENS REPEATS");
        int threads = atoi(argv[3]), len = atoi(argv[4]), steps = atoi(argv[5]), reps = atoi(argv[6]);
        struct llama_context *ctx = open_context(model, threads, len);
        struct llama_batch b = llama_batch_init(len, 0, 1);
        int32_t *tokens = malloc(len * 4);
        unsigned seed = 1;
        for (int i = 0; i < len; i++) tokens[i] = (int32_t) ((seed = seed * 1103515245u + 12345u) >> 8) % vocab;
        for (int r = -1; r < reps; r++) { // r = -1 warms up
            llama_memory_clear(llama_get_memory(ctx), true);
            double t0 = now();
            decode(ctx, &b, tokens, len, 0, 0);
            llama_synchronize(ctx);
            double pp = now() - t0;
            llama_memory_clear(llama_get_memory(ctx), true);
            decode(ctx, &b, tokens, 1, 0, 0);
            int32_t next = tokens[1];
            t0 = now();
            for (int s = 0; s < steps; s++) {
                decode(ctx, &b, &next, 1, 1 + s, 0);
                const float *lg = llama_get_logits_ith(ctx, -1);
                int best = 0; // greedy, as a generator would, so the step depends on the last one
                for (int v = 1; v < vocab; v++) if (lg[v] > lg[best]) best = v;
                next = best;
            }
            double tg = (now() - t0) / steps;
            if (r >= 0) printf("pp %.6f tg %.6f\n", pp, tg);
        }
        llama_batch_free(b);
        llama_free(ctx);
    } else {
        die("mode must be logits or bench");
    }
    llama_model_free(model);
    return 0;
}
