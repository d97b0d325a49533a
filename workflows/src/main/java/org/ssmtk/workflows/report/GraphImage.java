package org.ssmtk.workflows.report;

import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.workflows.descriptor.Step;
import org.ssmtk.workflows.descriptor.Workflow;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The step graph as a PNG, drawn with Java2D (no Graphviz needed on servers or in CI): one row per
 * depth (steps that need nothing on top), steps in file order within a row, arrows from each step to
 * the steps that need it.
 */
public final class GraphImage {
    private static final int BOX_H = 52, GAP_X = 40, GAP_Y = 60, PAD = 30;

    private GraphImage() {}

    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    public static void writePng(Workflow wf, Path file) throws IOException {
        byte[] png = png(wf);
        AtomicFiles.write(file, out -> out.write(png));
    }

    public static byte[] png(Workflow wf) throws IOException {
        Map<String, Integer> depth = wf.depths();
        int rows = depth.values().stream().mapToInt(Integer::intValue).max().orElse(0) + 1;
        List<List<Step>> byRow = new ArrayList<>();
        for (int r = 0; r < rows; r++) byRow.add(new ArrayList<>());
        for (Step s : wf.steps()) byRow.get(depth.get(s.id())).add(s);

        Font idFont = new Font(Font.SANS_SERIF, Font.BOLD, 14), opFont = new Font(Font.MONOSPACED, Font.PLAIN, 12);
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        FontMetrics idM = pg.getFontMetrics(idFont), opM = pg.getFontMetrics(opFont);
        Map<String, Integer> width = new HashMap<>();
        for (Step s : wf.steps()) width.put(s.id(), Math.max(idM.stringWidth(s.id()), opM.stringWidth(s.op())) + 24);
        pg.dispose();
        int[] rowWidth = new int[rows];
        for (int r = 0; r < rows; r++) for (Step s : byRow.get(r)) rowWidth[r] += width.get(s.id()) + (rowWidth[r] == 0 ? 0 : GAP_X);
        int imgW = java.util.Arrays.stream(rowWidth).max().orElse(100) + 2 * PAD;
        int imgH = rows * BOX_H + (rows - 1) * GAP_Y + 2 * PAD;

        Map<String, int[]> box = new HashMap<>(); // x, y, w
        for (int r = 0; r < rows; r++) {
            int x = PAD + (imgW - 2 * PAD - rowWidth[r]) / 2, y = PAD + r * (BOX_H + GAP_Y);
            for (Step s : byRow.get(r)) {
                box.put(s.id(), new int[]{x, y, width.get(s.id())});
                x += width.get(s.id()) + GAP_X;
            }
        }
        BufferedImage img = new BufferedImage(imgW, imgH, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, imgW, imgH);
        g.setStroke(new BasicStroke(1.6f));
        g.setColor(new Color(0x55, 0x5f, 0x70));
        for (Step s : wf.steps())
            for (String n : s.needs()) {
                int[] a = box.get(n), b = box.get(s.id());
                arrow(g, a[0] + a[2] / 2.0, a[1] + BOX_H, b[0] + b[2] / 2.0, b[1]);
            }
        for (Step s : wf.steps()) {
            int[] b = box.get(s.id());
            g.setColor(new Color(0xe8, 0xee, 0xfa));
            g.fillRoundRect(b[0], b[1], b[2], BOX_H, 14, 14);
            g.setColor(new Color(0x33, 0x44, 0x66));
            g.drawRoundRect(b[0], b[1], b[2], BOX_H, 14, 14);
            g.setFont(idFont);
            g.drawString(s.id(), b[0] + (b[2] - idM.stringWidth(s.id())) / 2, b[1] + 21);
            g.setFont(opFont);
            g.setColor(new Color(0x44, 0x44, 0x44));
            g.drawString(s.op(), b[0] + (b[2] - opM.stringWidth(s.op())) / 2, b[1] + 40);
        }
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private static void arrow(Graphics2D g, double x1, double y1, double x2, double y2) {
        Path2D.Double line = new Path2D.Double();
        line.moveTo(x1, y1);
        line.curveTo(x1, (y1 + y2) / 2, x2, (y1 + y2) / 2, x2, y2 - 2);
        g.draw(line);
        AffineTransform saved = g.getTransform();
        g.translate(x2, y2);
        Path2D.Double head = new Path2D.Double();
        head.moveTo(0, 0);
        head.lineTo(-5, -10);
        head.lineTo(5, -10);
        head.closePath();
        g.fill(head);
        g.setTransform(saved);
    }
}
