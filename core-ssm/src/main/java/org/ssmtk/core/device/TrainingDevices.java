package org.ssmtk.core.device;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.Collective;
import org.ssmtk.core.backend.Precision;
import org.ssmtk.core.backend.cuda.CudaBackend;
import org.ssmtk.core.backend.cuda.NcclCollective;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.train.Replicas;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The devices a trainer runs on: one backend as {@link Backends} opens it, or, for data-parallel
 * training, the first N GPUs of this machine, a backend each, bound together by NCCL.
 */
public final class TrainingDevices implements AutoCloseable {
    private final List<Backend> backends;
    private final List<Collective> collectives;

    private TrainingDevices(List<Backend> backends, List<Collective> collectives) {
        this.backends = backends;
        this.collectives = collectives;
    }

    /**
     * @param gpus 1 for one backend of {@code device}; N &gt; 1 for GPUs 0..N-1 (device cuda or auto)
     * @throws BackendUnavailableException when the devices asked for are not here, in one line
     */
    public static TrainingDevices open(String device, int threads, String precision, int gpus, Consumer<String> notice) {
        return open(device, threads, precision, null, gpus, notice);
    }

    /** {@link #open(String, int, String, int, Consumer)} with the SSD scan's products as {@link Backends#open(String, int, String, String, Consumer)} takes them. */
    public static TrainingDevices open(String device, int threads, String precision, String ssdProducts, int gpus, Consumer<String> notice) {
        if (gpus < 1) throw new BackendUnavailableException("--gpus must be at least 1, got " + gpus);
        if (gpus == 1)
            return new TrainingDevices(List.of(Backends.open(device, threads, precision, ssdProducts, notice)), List.of(Collective.single()));
        if (!device.equals("cuda") && !device.equals("auto"))
            throw new BackendUnavailableException("--gpus " + gpus + " trains on GPUs: it needs --device cuda, not --device " + device);
        Precision p;
        try {
            p = Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new BackendUnavailableException(e.getMessage());
        }
        int present;
        try {
            present = CudaBackend.deviceCount();
        } catch (IllegalArgumentException e) {
            throw new BackendUnavailableException("--gpus " + gpus + ": " + e.getMessage().replaceFirst("^--device cuda: ", ""));
        }
        if (present < gpus)
            throw new BackendUnavailableException("--gpus " + gpus + ": this machine has " + present + " CUDA device" + (present == 1 ? "" : "s")
                    + visibleDevicesNote());
        List<Backend> opened = new ArrayList<>();
        try {
            List<CudaBackend> cuda = new ArrayList<>();
            for (int i = 0; i < gpus; i++) {
                CudaBackend b = CudaBackend.open(p, i, ssdProducts);
                opened.add(b);
                cuda.add(b);
            }
            List<Collective> collectives;
            try {
                collectives = NcclCollective.group(cuda);
            } catch (IllegalStateException e) {
                throw new BackendUnavailableException("--gpus " + gpus + ": " + e.getMessage());
            }
            notice.accept("ssmtk: data-parallel on " + gpus + " GPUs, " + cuda.get(0).describe() + "; gradients summed by "
                    + ((NcclCollective) collectives.get(0)).describe());
            return new TrainingDevices(opened, collectives);
        } catch (RuntimeException e) {
            for (Backend b : opened) b.close();
            if (e instanceof IllegalArgumentException && !(e instanceof BackendUnavailableException))
                throw new BackendUnavailableException(e.getMessage(), e);
            throw e;
        }
    }

    private static String visibleDevicesNote() {
        String v = System.getenv("CUDA_VISIBLE_DEVICES");
        return v == null ? "" : " (CUDA_VISIBLE_DEVICES=" + v + ")";
    }

    /** The backend of replica 0: the one evaluations after training run on. */
    public Backend lead() {
        return backends.get(0);
    }

    public int size() {
        return backends.size();
    }

    /** The same starting weights on every device, each model set up by prepare. */
    public Replicas load(MambaCheckpoint start, Consumer<MambaModel> prepare) {
        List<MambaModel> models = new ArrayList<>();
        for (Backend b : backends) {
            MambaModel m = MambaModel.load(b, start);
            prepare.accept(m);
            models.add(m);
        }
        return new Replicas(models, collectives);
    }

    @Override
    public void close() {
        for (Collective c : collectives) c.close();
        for (Backend b : backends) b.close();
    }
}
