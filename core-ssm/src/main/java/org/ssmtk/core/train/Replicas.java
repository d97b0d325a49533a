package org.ssmtk.core.train;

import org.ssmtk.core.backend.Collective;
import org.ssmtk.core.nn.MambaModel;

import java.util.List;

/**
 * The copies of one model that a data-parallel run trains, one per device, starting from the same
 * weights, with the {@link Collective} of each (rank i for models.get(i)). One replica with
 * {@link Collective#single()} is plain training.
 */
public record Replicas(List<MambaModel> models, List<Collective> collectives) {
    public Replicas {
        models = List.copyOf(models);
        collectives = List.copyOf(collectives);
        if (models.isEmpty()) throw new IllegalArgumentException("no replicas");
        if (models.size() != collectives.size())
            throw new IllegalArgumentException(models.size() + " models and " + collectives.size() + " collectives");
        for (int r = 0; r < collectives.size(); r++) {
            if (collectives.get(r).rank() != r || collectives.get(r).size() != models.size())
                throw new IllegalArgumentException("collective " + r + " is rank " + collectives.get(r).rank() + " of "
                        + collectives.get(r).size() + ", expected rank " + r + " of " + models.size());
            if (!models.get(r).config().equals(models.get(0).config()))
                throw new IllegalArgumentException("replica " + r + " has another model configuration than replica 0");
        }
    }

    /** One model, no collective. */
    public static Replicas of(MambaModel model) {
        return new Replicas(List.of(model), List.of(Collective.single()));
    }

    public int size() {
        return models.size();
    }

    /** The replica that logs and writes checkpoints. */
    public MambaModel lead() {
        return models.get(0);
    }
}
