package org.ssmtk.core.eval;

/**
 * How generated samples are scored with a trained classifier, as the audio generation papers do
 * (SaShiMi and Mamba on SC09, with their own classifier; ssmtk uses its own):
 * <ul>
 * <li>Inception Score: exp(mean_i KL(p(y|x_i) || p(y))), p(y) the mean of the p(y|x_i). High when
 * each sample is classified confidently and the classes are used evenly; at most the number of
 * classes.</li>
 * <li>modified Inception Score (Gurumurthy et al. 2017, as SaShiMi reports it): exp of the mean of
 * KL(p(y|x_i) || p(y|x_j)) over every ordered pair of samples, i = j included (KL 0), so over n^2.</li>
 * <li>Fréchet distance between Gaussians fitted to two sets of embeddings:
 * |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2). tr((S1 S2)^1/2) is computed as the
 * trace of the square root of the symmetric S1^1/2 S2 S1^1/2 (similar to S1 S2), so only symmetric
 * eigen-decompositions are needed. Covariances are unbiased (n - 1), as numpy's cov.</li>
 * </ul>
 * Logs take probabilities plus {@link #EPS}, so that a probability that underflowed to 0 makes a KL
 * large instead of infinite.
 */
public final class GenerationScores {
    private GenerationScores() {}

    public static final double EPS = 1e-12;

    public static double inceptionScore(double[][] p) {
        int n = p.length, k = classes(p);
        double[] marginal = new double[k];
        for (double[] row : p) for (int c = 0; c < k; c++) marginal[c] += row[c] / n;
        double kl = 0;
        for (double[] row : p) kl += kl(row, marginal);
        return Math.exp(kl / n);
    }

    public static double modifiedInceptionScore(double[][] p) {
        int n = p.length, k = classes(p);
        double[][] logs = new double[n][k];
        double[] selfTerm = new double[n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < k; c++) {
                logs[i][c] = Math.log(p[i][c] + EPS);
                selfTerm[i] += p[i][c] * logs[i][c];
            }
        // KL(p_i || p_j) = sum p_i log p_i - sum p_i log p_j: the first part once per i.
        double total = 0;
        for (int i = 0; i < n; i++) {
            double cross = 0;
            for (int j = 0; j < n; j++)
                for (int c = 0; c < k; c++) cross += p[i][c] * logs[j][c];
            total += n * selfTerm[i] - cross;
        }
        return Math.exp(total / ((double) n * n));
    }

    private static double kl(double[] p, double[] q) {
        double s = 0;
        for (int c = 0; c < p.length; c++) s += p[c] * (Math.log(p[c] + EPS) - Math.log(q[c] + EPS));
        return s;
    }

    private static int classes(double[][] p) {
        if (p.length == 0) throw new IllegalArgumentException("no samples to score");
        int k = p[0].length;
        for (double[] row : p) if (row.length != k) throw new IllegalArgumentException("rows of different class counts");
        return k;
    }

    /** Mean and unbiased covariance of rows of x (n x d, n >= 2). */
    public record Gaussian(double[] mean, double[][] covariance) {
        public static Gaussian fit(double[][] x) {
            int n = x.length;
            if (n < 2) throw new IllegalArgumentException("a covariance needs at least 2 embeddings, got " + n);
            int d = x[0].length;
            double[] mu = new double[d];
            for (double[] row : x) for (int j = 0; j < d; j++) mu[j] += row[j] / n;
            double[][] s = new double[d][d];
            for (double[] row : x)
                for (int i = 0; i < d; i++) {
                    double di = row[i] - mu[i];
                    for (int j = i; j < d; j++) s[i][j] += di * (row[j] - mu[j]);
                }
            for (int i = 0; i < d; i++)
                for (int j = i; j < d; j++) s[j][i] = s[i][j] /= (n - 1);
            return new Gaussian(mu, s);
        }
    }

    /**
     * The Fréchet distance between two halves of one set of embeddings: the scale a generated set's
     * distance is read against. The halves are drawn by a seeded shuffle, not by position, because sets
     * are often listed in order (a manifest of every voice saying "zero" to "nine" split by odd and even
     * rows puts disjoint digits in the two halves and measures a distance between classes).
     */
    public static double halvesDistance(double[][] embeddings, long seed) {
        int n = embeddings.length;
        if (n < 4) throw new IllegalArgumentException("halves of " + n + " embeddings: at least 4 are needed");
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double[][] first = new double[n / 2][], second = new double[n - n / 2][];
        for (int i = 0; i < n; i++) {
            if (i < n / 2) first[i] = embeddings[order[i]];
            else second[i - n / 2] = embeddings[order[i]];
        }
        return frechetDistance(Gaussian.fit(first), Gaussian.fit(second));
    }

    public static double frechetDistance(Gaussian a, Gaussian b) {
        int d = a.mean().length;
        if (b.mean().length != d) throw new IllegalArgumentException("embeddings of different sizes: " + d + " and " + b.mean().length);
        double meanTerm = 0, trace = 0;
        for (int i = 0; i < d; i++) {
            double diff = a.mean()[i] - b.mean()[i];
            meanTerm += diff * diff;
            trace += a.covariance()[i][i] + b.covariance()[i][i];
        }
        double[][] r = SymmetricEigen.sqrtPsd(a.covariance());
        double[][] m = multiply(multiply(r, b.covariance()), r);
        for (int i = 0; i < d; i++) // symmetrize what rounding left uneven
            for (int j = i + 1; j < d; j++) m[i][j] = m[j][i] = (m[i][j] + m[j][i]) / 2;
        double traceSqrt = 0;
        for (double l : SymmetricEigen.of(m).values) traceSqrt += Math.sqrt(Math.max(l, 0));
        return meanTerm + trace - 2 * traceSqrt;
    }

    static double[][] multiply(double[][] x, double[][] y) {
        int n = x.length, k = y.length, m = y[0].length;
        double[][] out = new double[n][m];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < k; t++) {
                double xit = x[i][t];
                if (xit == 0) continue;
                for (int j = 0; j < m; j++) out[i][j] += xit * y[t][j];
            }
        return out;
    }
}
