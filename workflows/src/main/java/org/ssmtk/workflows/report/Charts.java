package org.ssmtk.workflows.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.ssmtk.core.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * PNG line charts of what people look at after a run (loss curves, accuracy against length), drawn
 * headless by XChart and written atomically. Nothing here is numerical: it only draws.
 */
public final class Charts {
    private Charts() {}

    static {
        // charts are drawn into images, never shown: no display needed (servers, CI, cluster nodes)
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Named series of (x, y) points, drawn in insertion order. */
    public static final class Lines {
        private final String title, xLabel, yLabel;
        private final Map<String, double[][]> series = new LinkedHashMap<>();
        private boolean logX, logY, markers;

        public Lines(String title, String xLabel, String yLabel) {
            this.title = title;
            this.xLabel = xLabel;
            this.yLabel = yLabel;
        }

        public Lines add(String name, double[] x, double[] y) {
            if (x.length != y.length) throw new IllegalArgumentException(name + ": " + x.length + " x values, " + y.length + " y values");
            series.put(name, new double[][]{x.clone(), y.clone()});
            return this;
        }

        public Lines logX() { logX = true; return this; }

        public Lines logY() { logY = true; return this; }

        public Lines markers() { markers = true; return this; }

        public void writePng(Path file) throws IOException {
            byte[] png = png();
            AtomicFiles.write(file, out -> out.write(png));
        }

        /** The chart as PNG bytes (for embedding, e.g. base64 in a self-contained HTML report). */
        public byte[] png() throws IOException {
            return png(900, 540);
        }

        public byte[] png(int width, int height) throws IOException {
            XYChart chart = new XYChartBuilder().width(width).height(height).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
            chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
            chart.getStyler().setXAxisLogarithmic(logX);
            chart.getStyler().setYAxisLogarithmic(logY);
            chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
            chart.getStyler().setLegendVisible(series.size() > 1);
            chart.getStyler().setDecimalPattern("#,##0.####"); // ticks, not data values, need no 15 digits
            for (var e : series.entrySet()) {
                if (e.getValue()[0].length == 0) continue;
                XYSeries s = chart.addSeries(e.getKey(), e.getValue()[0], e.getValue()[1]);
                s.setMarker(markers ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
            }
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        }
    }
}
