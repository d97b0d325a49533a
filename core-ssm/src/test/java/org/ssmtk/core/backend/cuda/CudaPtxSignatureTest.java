package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.backend.cuda.ScanForwardKernels.Inputs;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs without a GPU. The Java <-> kernel contract in three checks: every kernel a launcher declares
 * is an entry of its committed PTX with the same number of parameters of the same widths (.u64 for
 * addresses and 64-bit integers, .u32 for int, .f32 for float); every entry of the PTX is declared
 * (no kernel that nothing launches); and every launcher method, driven through a recording
 * {@link Launcher}, launches only declared kernels with arguments of the declared kinds (checked by
 * {@link Args}), a block within the kernel's launch bounds, and constants the PTX exports.
 */
class CudaPtxSignatureTest {
    static final List<Class<?>> LAUNCHERS = List.of(ElementwiseKernels.class, ReductionKernels.class, Conv1dKernels.class,
            GemmKernel.class, ScanForwardKernels.class, ScanBackwardKernels.class, SsdKernels.class, ReverseKernels.class,
            DecodeKernels.class);
    private static final Pattern BOUNDS = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\([^)]*\\)\\s*\\.maxntid\\s+(\\d+),\\s*(\\d+),\\s*(\\d+)");

    /** Every Kernel the launchers declare (static fields, single, per variant or per way of multiplying). */
    static List<Kernel> declared() throws IllegalAccessException {
        List<Kernel> all = new ArrayList<>();
        for (Class<?> c : LAUNCHERS)
            for (Field f : c.getDeclaredFields()) {
                if (!Modifier.isStatic(f.getModifiers())) continue;
                f.setAccessible(true);
                if (f.get(null) instanceof Kernel k) all.add(k);
                else if (f.get(null) instanceof Kernel[] ks) all.addAll(List.of(ks));
                else if (f.get(null) instanceof Kernel[][] ks) for (Kernel[] row : ks) all.addAll(List.of(row));
            }
        return all;
    }

    static Map<String, PtxModule> modules() {
        Map<String, PtxModule> m = new HashMap<>();
        for (String name : CudaContext.MODULES) m.put(name, PtxModule.load(name));
        return m;
    }

    /** The mismatches between declarations and the PTX, one line each. */
    static List<String> mismatches(List<Kernel> kernels, Map<String, PtxModule> modules) {
        List<String> bad = new ArrayList<>();
        for (Kernel k : kernels) {
            PtxModule m = modules.get(k.module());
            if (m == null) {
                bad.add(k.name() + ": module " + k.module() + " is not loaded");
                continue;
            }
            List<String> ptx = m.entries().get(k.name());
            if (ptx == null) {
                bad.add(k.name() + ": no such .entry in " + k.module());
                continue;
            }
            if (ptx.size() != k.params().size()) {
                bad.add(k.name() + ": the launcher declares " + k.params().size() + " parameters, the PTX has " + ptx.size());
                continue;
            }
            for (int i = 0; i < ptx.size(); i++)
                if (!ptx.get(i).equals(k.params().get(i).ptxType))
                    bad.add(k.name() + " parameter " + i + ": the launcher declares " + k.params().get(i) + " ("
                            + k.params().get(i).ptxType + "), the PTX has " + ptx.get(i));
        }
        return bad;
    }

    @Test
    void everyDeclaredKernelMatchesItsPtxEntry() throws Exception {
        List<Kernel> kernels = declared();
        assertTrue(kernels.size() >= 40, "found only " + kernels.size() + " kernel declarations");
        List<String> bad = mismatches(kernels, modules());
        assertTrue(bad.isEmpty(), "launchers and PTX disagree:\n" + String.join("\n", bad));
    }

    @Test
    void everyPtxEntryIsDeclaredByALauncher() throws Exception {
        Set<String> names = new TreeSet<>();
        for (Kernel k : declared()) names.add(k.module() + ":" + k.name());
        List<String> undeclared = new ArrayList<>();
        modules().forEach((module, m) -> m.entries().keySet().forEach(e -> {
            if (!names.contains(module + ":" + e)) undeclared.add(module + ":" + e);
        }));
        assertTrue(undeclared.isEmpty(), "PTX entries no launcher declares (launch them or delete them): " + undeclared);
    }

    @Test
    void aMismatchedDeclarationIsReported() throws Exception {
        // the check itself: a float where the kernel takes an int, and one parameter too few
        Kernel wrongType = Kernel.of(ReductionKernels.MODULE, "rms_norm", Kernel.Param.PTR, Kernel.Param.PTR,
                Kernel.Param.PTR, Kernel.Param.PTR, Kernel.Param.F32, Kernel.Param.F32);
        Kernel tooFew = Kernel.of(ElementwiseKernels.MODULE, "add_f32", Kernel.Param.PTR, Kernel.Param.PTR, Kernel.Param.PTR);
        List<String> bad = mismatches(List.of(wrongType, tooFew), modules());
        assertEquals(List.of("rms_norm parameter 4: the launcher declares F32 (.f32), the PTX has .u32",
                "add_f32: the launcher declares 3 parameters, the PTX has 4"), bad);
    }

    /** A launch as the recorder saw it. */
    record Launch(Kernel kernel, long gx, int gy, int bx, int by, int shared) {}

    /** A Launcher without a GPU: the committed PTX's constants, 132 SMs, launches written down. */
    static final class Recorder implements Launcher {
        final Map<String, PtxModule> modules = modules();
        final List<Launch> launches = new ArrayList<>();

        @Override
        public void launch(long gx, int gy, int bx, int by, int sharedBytes, Args args) {
            args.values();  // every parameter given, each of its declared kind
            launches.add(new Launch(args.kernel(), gx, gy, bx, by, sharedBytes));
        }

        @Override
        public PtxModule module(String resource) {
            PtxModule m = modules.get(resource);
            if (m == null) throw new IllegalStateException("no module " + resource);
            return m;
        }

        @Override
        public int multiprocessors() {
            return 132;
        }
    }

    /** Plain arguments: addresses and counts 2^20, ints 16, floats 0.5, flags true. */
    static Object value(Class<?> type) {
        if (type == long.class) return 1L << 20;
        if (type == boolean.class) return true;
        if (type == int.class) return 16;
        if (type == float.class) return 0.5f;
        throw new IllegalArgumentException("no test value for a launcher parameter of type " + type);
    }

    @Test
    void everyLauncherMethodLaunchesDeclaredKernelsWithDeclaredArguments() throws Exception {
        Recorder rec = new Recorder();
        Set<Kernel> launched = new LinkedHashSet<>();
        List<Object> launchers = new ArrayList<>();
        for (Class<?> c : LAUNCHERS)
            if (c == SsdKernels.class) {
                // one per way of multiplying: each launches its own entries of the product kernels
                for (SsdKernels.Products p : SsdKernels.Products.values()) launchers.add(new SsdKernels(rec, p));
            } else {
                launchers.add(c.getDeclaredConstructor(Launcher.class).newInstance(rec));
            }
        for (Object launcher : launchers) {
            Class<?> c = launcher.getClass();
            for (Method m : c.getDeclaredMethods()) {
                if (Modifier.isStatic(m.getModifiers()) || Modifier.isPrivate(m.getModifiers()) || m.getReturnType() != void.class)
                    continue;
                Class<?>[] types = m.getParameterTypes();
                // scan launchers take (Inputs, padded width, ...): every variant
                boolean variants = types.length > 1 && types[0] == Inputs.class;
                for (Inputs in : variants ? Inputs.values() : new Inputs[]{null})
                    for (int w : variants ? ScanForwardKernels.WIDTHS : new int[]{0}) {
                        Object[] args = new Object[types.length];
                        for (int i = variants ? 2 : 0; i < types.length; i++) args[i] = value(types[i]);
                        if (variants) {
                            args[0] = in;
                            args[1] = w;
                        }
                        int before = rec.launches.size();
                        try {
                            m.invoke(launcher, args);
                        } catch (InvocationTargetException e) {
                            throw new AssertionError(c.getSimpleName() + "." + m.getName() + ": " + e.getCause().getMessage(), e.getCause());
                        }
                        assertTrue(rec.launches.size() > before, c.getSimpleName() + "." + m.getName() + " launched nothing");
                    }
            }
        }
        Map<String, int[]> bounds = new HashMap<>();
        for (PtxModule m : rec.modules.values()) {
            Matcher b = BOUNDS.matcher(m.text());
            while (b.find()) bounds.put(m.resource() + ":" + b.group(1), new int[]{Integer.parseInt(b.group(2)), Integer.parseInt(b.group(3))});
        }
        for (Launch l : rec.launches) {
            String where = l.kernel().name() + " launched with block (" + l.bx() + ", " + l.by() + ")";
            assertTrue(l.gx() > 0 && l.gy() > 0 && l.bx() > 0 && l.by() > 0 && l.bx() * l.by() <= 1024, where);
            assertTrue(l.shared() >= 0 && l.shared() <= 227 * 1024, where + " and " + l.shared() + " bytes of shared memory");
            int[] max = bounds.get(l.kernel().module() + ":" + l.kernel().name());
            if (max != null) assertTrue(l.bx() <= max[0] && l.by() <= max[1], where + " over its .maxntid " + max[0] + ", " + max[1]);
            launched.add(l.kernel());
        }
        Set<String> missing = new TreeSet<>();
        for (Kernel k : declared()) if (!launched.contains(k)) missing.add(k.name());
        assertTrue(missing.isEmpty(), "declared kernels no launcher method launches: " + missing);
    }

    @Test
    void anExportedZeroHasNoInitializerInPtxAndReadsAsZero() {
        PtxModule m = PtxModule.parse("t.ptx", ".global .align 4 .u32 ssmtk_NONE;\n.global .align 4 .u32 ssmtk_SEVEN = 7;\n");
        assertEquals(0, m.constant("NONE"));
        assertEquals(7, m.constant("SEVEN"));
        assertEquals(0, PtxModule.load(SsdKernels.MODULE).constant("SSD_FP32"));
    }

    @Test
    void theSsdScansWaysOfMultiplyingByName() {
        assertEquals(SsdKernels.Products.FP32, SsdKernels.Products.parse("fp32"));
        assertEquals(SsdKernels.Products.TF32X3, SsdKernels.Products.parse("tf32x3"));
        assertEquals(SsdKernels.Products.TF32X3, SsdKernels.Products.parse("3xtf32"));
        assertEquals(SsdKernels.Products.TF32, SsdKernels.Products.parse("tf32"));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> SsdKernels.Products.parse("bf16"));
        assertEquals("--ssd-products must be fp32, tf32x3 or tf32, got 'bf16'", e.getMessage());
    }
}
