package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.io.TensorInfo;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;


/** {@code ssmtk tensors list|diff}: look into safetensors files. */
final class TensorCommands {
    private TensorCommands() {}

    static CommandGroup group() {
        return new CommandGroup("tensors", "list and compare safetensors files", List.of(new ListTensors(), new Diff()));
    }

    static final class ListTensors implements Command {
        public String name() { return "list"; }

        public String summary() { return "print every tensor's name, dtype and shape (validates the file)"; }

        static final Opt<Path> FILE = Opt.input("file", "F.safetensors", "file to list").existingFile().required();

        public List<Opt<?>> options() {
            return List.of(FILE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            try (SafeTensorsReader r = SafeTensorsReader.open(FILE.get(cl))) {
                r.metadata().forEach((k, v) -> out.printf("# %s = %s%n", k, v));
                for (TensorInfo t : r.tensors().values()) out.printf("%-48s %-5s %s%n", t.name(), t.dtype(), t.shapeString());
            }
            return 0;
        }
    }

    static final class Diff implements Command {
        public String name() { return "diff"; }

        public String summary() { return "relative error ||a - b|| / ||b|| of the floating tensors two files share"; }

        public String footer() {
            return "Exit code 0 when every shared tensor is within --tolerance, 1 otherwise.";
        }

        static final Opt<Path> A = Opt.input("a", "A.safetensors", "the file to check").existingFile().required();
        static final Opt<Path> B = Opt.input("b", "B.safetensors", "the reference").existingFile().required();
        static final Opt<Double> TOLERANCE = Opt.number("tolerance", "T", "largest accepted relative error").byDefault(1e-5);

        public List<Opt<?>> options() {
            return List.of(A, B, TOLERANCE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path pa = A.get(cl), pb = B.get(cl);
            double tol = TOLERANCE.get(cl);
            boolean ok = true;
            int shared = 0;
            try (SafeTensorsReader a = SafeTensorsReader.open(pa); SafeTensorsReader b = SafeTensorsReader.open(pb)) {
                out.printf("%-52s %14s  %s%n", "tensor", "rel. error", "");
                for (TensorInfo ta : a.tensors().values()) {
                    if (!b.contains(ta.name()) || !ta.dtype().isFloatingPoint()) continue;
                    TensorInfo tb = b.info(ta.name());
                    shared++;
                    if (!Arrays.equals(ta.shape(), tb.shape())) {
                        out.printf("%-52s %14s  shapes %s vs %s%n", ta.name(), "-", ta.shapeString(), tb.shapeString());
                        ok = false;
                        continue;
                    }
                    double[] x = a.doubles(ta.name()), y = b.doubles(ta.name());
                    double num = 0, den = 0;
                    for (int i = 0; i < x.length; i++) {
                        num += (x[i] - y[i]) * (x[i] - y[i]);
                        den += y[i] * y[i];
                    }
                    double rel = den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
                    boolean pass = rel <= tol; // NaN fails
                    ok &= pass;
                    out.printf("%-52s %14.3e  %s%n", ta.name(), rel, pass ? "ok" : "FAIL");
                }
            }
            if (shared == 0) throw new UsageException(pa + " and " + pb + " share no floating-point tensor");
            return ok ? 0 : 1;
        }
    }
}
