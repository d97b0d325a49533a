package org.ssmtk.core.train;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter) with decoupled weight decay. By the reference's convention
 * A_log, D, biases, norm weights and the embeddings are not decayed unless {@code decayAll} is
 * set; the projection matrices, the conv kernel and an untied LM head are.
 */
public final class AdamW {
    public record Settings(double beta1, double beta2, double eps, double weightDecay, boolean decayAll) {
        public static Settings defaults() {
            return new Settings(0.9, 0.999, 1e-8, 0.1, false);
        }
    }

    private final Backend backend;
    private final Settings settings;
    private final Map<String, Tensor> params;
    private final Map<String, Tensor> m = new LinkedHashMap<>();
    private final Map<String, Tensor> v = new LinkedHashMap<>();
    /** The parameters in order, with their moments and weight decays, as each update passes them. */
    private final List<String> names;
    private final List<Tensor> paramList, mList, vList;
    private final float[] weightDecay;
    private long step;

    public AdamW(Backend backend, Map<String, Tensor> params, Settings settings) {
        this.backend = backend;
        this.settings = settings;
        this.params = params;
        params.forEach((name, p) -> {
            m.put(name, backend.allocate(p.shape()));
            v.put(name, backend.allocate(p.shape()));
        });
        names = List.copyOf(params.keySet());
        paramList = List.copyOf(params.values());
        mList = List.copyOf(m.values());
        vList = List.copyOf(v.values());
        weightDecay = new float[names.size()];
        for (int i = 0; i < weightDecay.length; i++)
            weightDecay[i] = settings.decayAll() || decays(names.get(i)) ? (float) settings.weightDecay() : 0f;
    }

    /** Whether the reference convention decays this parameter. */
    public static boolean decays(String name) {
        return name.endsWith(".weight") && !name.contains("norm") && !name.contains("embeddings");
    }

    public long step() {
        return step;
    }

    public Map<String, Tensor> firstMoments() {
        return m;
    }

    public Map<String, Tensor> secondMoments() {
        return v;
    }

    /** For resuming: the moments are restored separately through {@link #firstMoments()}. */
    public void restoreStep(long step) {
        this.step = step;
    }

    /** One update of every parameter with the given learning rate. */
    public void update(Gradients grads, double lr) {
        update(grads, lr, 1f);
    }

    /**
     * One update of every parameter with the given learning rate, each gradient times gradScale (the
     * clipping factor; the gradients are left as they are), in one backend call: on a GPU one launch
     * for all parameters rather than one per tensor.
     */
    public void update(Gradients grads, double lr, float gradScale) {
        step++;
        float bc1 = (float) (1 - Math.pow(settings.beta1(), step));
        float bc2 = (float) (1 - Math.pow(settings.beta2(), step));
        List<Tensor> g = new ArrayList<>(names.size());
        for (String name : names) g.add(grads.get(name));
        backend.adamW(paramList, g, mList, vList, weightDecay, gradScale, (float) lr, (float) settings.beta1(),
                (float) settings.beta2(), (float) settings.eps(), bc1, bc2);
    }
}
